/* The command table: one entry per command file. */
#ifndef TROUPE_COMMANDS_H
#define TROUPE_COMMANDS_H

#include "cli.h"
#include "reqlog.h"

extern const struct cmd_entry cmd_init_entry;
extern const struct cmd_entry cmd_character_entry;
extern const struct cmd_entry cmd_add_entry;
extern const struct cmd_entry cmd_query_entry;
extern const struct cmd_entry cmd_show_entry;
extern const struct cmd_entry cmd_tag_entry;
extern const struct cmd_entry cmd_edit_entry;
extern const struct cmd_entry cmd_rm_entry;
extern const struct cmd_entry cmd_cat_entry;
extern const struct cmd_entry cmd_path_entry;
extern const struct cmd_entry cmd_hash_entry;
extern const struct cmd_entry cmd_similar_entry;
extern const struct cmd_entry cmd_derive_entry;
extern const struct cmd_entry cmd_sheet_entry;
extern const struct cmd_entry cmd_gallery_entry;
extern const struct cmd_entry cmd_inject_entry;
extern const struct cmd_entry cmd_generate_entry;
extern const struct cmd_entry cmd_profile_entry;
extern const struct cmd_entry cmd_log_entry;
extern const struct cmd_entry cmd_embed_entry;
extern const struct cmd_entry cmd_nearest_entry;
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_calibrate_entry;
extern const struct cmd_entry cmd_fsck_entry;
extern const struct cmd_entry cmd_gc_entry;
extern const struct cmd_entry cmd_frames_entry;
extern const struct cmd_entry cmd_shot_entry;
extern const struct cmd_entry cmd_cut_entry;
extern const struct cmd_entry cmd_location_entry;
extern const struct cmd_entry cmd_prop_entry;
extern const struct cmd_entry cmd_style_entry;
extern const struct cmd_entry cmd_look_entry;
extern const struct cmd_entry cmd_board_entry;
extern const struct cmd_entry cmd_remote_entry;
extern const struct cmd_entry cmd_push_entry;
extern const struct cmd_entry cmd_pull_entry;
extern const struct cmd_entry cmd_clone_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_import_entry;

#endif
