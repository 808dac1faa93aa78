/* fault: named crash points for the crash-safety tests.
 *
 * A fault point is a place where a crash must leave the store safe
 * (after staging a blob, after linking it, before and after a commit,
 * between gc's commit and its unlinks, ...). When the environment
 * variable TROUPE_FAULT names the point, troupe leaves at once with
 * _exit(FAULT_EXIT): no atexit handlers, no buffered output flushed, no
 * SQLite rollback, as a kill -9 would. "NAME@N" fires at the Nth time
 * the point is reached (counting from 1), so a loop over N reaches every
 * iteration of a batch. Anything else in the variable is ignored.
 *
 * Names are lower-case words joined by '-', prefixed by their room:
 * "add-staged", "gc-after-commit", "import-before-commit". Each point is
 * listed under TROUPE_FAULT in troupe(1)'s ENVIRONMENT section; the
 * tests loop over that list. */
#ifndef TROUPE_FAULT_H
#define TROUPE_FAULT_H

/* Not a sysexits code and not a signal's 128+N: a test can tell a fault
 * from every other way troupe ends. */
#define FAULT_EXIT 86

void fault_point(const char *name);

#endif
