/* config.h — configuration lookup (DESIGN.md §5).
 * Precedence: command line (the program's business) > environment
 * CRM_<KEY> (key upper-cased, '-' and '.' as '_') > the config file
 * ($CRM_CONFIG, else $XDG_CONFIG_HOME/crm/crm.conf or ~/.config/crm/crm.conf,
 * else /etc/crm/crm.conf; "key = value" lines, '#' comments).
 * Returned strings belong to this module and live until exit. */
#ifndef CRM_CONFIG_H
#define CRM_CONFIG_H

#include <stdio.h>

const char *crm_config_get(const char *key);
const char *crm_config_get_default(const char *key, const char *def);
double crm_config_double(const char *key, double def);
long crm_config_long(const char *key, long def);
/* The config file in use, or NULL. */
const char *crm_config_file(void);

/* Data directory for rules and SQL: $CRM_DATADIR, else next to the
 * executable (build tree: <top>/lib, installed: <prefix>/share/crm),
 * else the compiled-in CRM_DATADIR. */
const char *crm_datadir(void);
/* Path of a rules file: $CRM_RULES_DIR/name, else <datadir>/rules/name.
 * Returns a pointer to a static buffer. */
const char *crm_rules_path(const char *name);

/* The next entry of a list file (one entry a line; '#' starts a comment
 * anywhere on it; blank lines skipped): the line, trimmed, in the getline
 * buffer *line (*cap its size), its number counted in *lineno; NULL at
 * the end of the file.  The caller frees *line. */
char *crm_list_next(FILE *f, char **line, size_t *cap, long *lineno);

#endif
