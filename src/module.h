/* module: loading troupe's own modules (troupe-image.so, troupe-http.so),
 * which keep heavy libraries out of commands that do not need them. */
#ifndef TROUPE_MODULE_H
#define TROUPE_MODULE_H

/* Opens the module named file, found as $TROUPE_MODULE_DIR/file, in .libs/
 * or beside the running program (a build tree), or in the installed
 * module directory, and returns its table: the symbol, whose first member is an
 * int version that must equal version. NULL with an error otherwise. The
 * module stays loaded until exit. */
const void *module_load(const char *file, const char *symbol, int version);

#endif
