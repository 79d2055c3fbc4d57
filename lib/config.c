/* config.c — environment and config-file lookup (see config.h).
 * The file is read once, on first use; a malformed line is an error
 * naming the file and line (exit 2), never silently ignored. */
#include "config.h"
#include "exitcode.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kv {
	char *key, *value;
};

static struct kv *kvs;
static size_t nkv;
static int loaded;
static char *file_used;

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static void
load(void)
{
	char path[PATH_MAX];
	const char *env = getenv("CRM_CONFIG");
	FILE *f = NULL;

	loaded = 1;
	if (env && *env) {
		snprintf(path, sizeof path, "%s", env);
		if (!(f = fopen(path, "r")))
			crm_die(CRM_EXIT_USAGE, "CRM_CONFIG %s:", path);
	} else {
		const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
		if (xdg && *xdg)
			snprintf(path, sizeof path, "%s/crm/crm.conf", xdg);
		else if (home && *home)
			snprintf(path, sizeof path, "%s/.config/crm/crm.conf", home);
		else
			path[0] = 0;
		if (path[0])
			f = fopen(path, "r");
		if (!f) {
			snprintf(path, sizeof path, "/etc/crm/crm.conf");
			f = fopen(path, "r");
		}
	}
	if (!f)
		return;
	file_used = crm_xstrdup(path);
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			crm_die(CRM_EXIT_USAGE, "%s:%ld: expected 'key = value'", path, lineno);
		*eq = 0;
		char *k = trim(s), *v = trim(eq + 1);
		if (!*k)
			crm_die(CRM_EXIT_USAGE, "%s:%ld: empty key", path, lineno);
		kvs = crm_xrealloc(kvs, (nkv + 1) * sizeof *kvs);
		kvs[nkv].key = crm_xstrdup(k);
		kvs[nkv].value = crm_xstrdup(v);
		nkv++;
	}
	free(line);
	fclose(f);
}

const char *
crm_config_file(void)
{
	if (!loaded)
		load();
	return file_used;
}

const char *
crm_config_get(const char *key)
{
	char env[128] = "CRM_";
	size_t i, n = 4;
	const char *v;

	for (i = 0; key[i] && n + 1 < sizeof env; i++)
		env[n++] = key[i] == '-' || key[i] == '.' ? '_' : (char)toupper((unsigned char)key[i]);
	env[n] = 0;
	if ((v = getenv(env)) && *v)
		return v;
	if (!loaded)
		load();
	for (i = nkv; i-- > 0;)       /* the last assignment wins */
		if (!strcmp(kvs[i].key, key))
			return kvs[i].value;
	return NULL;
}

const char *
crm_config_get_default(const char *key, const char *def)
{
	const char *v = crm_config_get(key);
	return v ? v : def;
}

double
crm_config_double(const char *key, double def)
{
	const char *v = crm_config_get(key);
	char *end;
	double d;

	if (!v)
		return def;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *trim(end))
		crm_die(CRM_EXIT_USAGE, "configuration %s: not a number: '%s'", key, v);
	return d;
}

long
crm_config_long(const char *key, long def)
{
	const char *v = crm_config_get(key);
	char *end;
	long l;

	if (!v)
		return def;
	errno = 0;
	l = strtol(v, &end, 10);
	if (errno || end == v || *end)
		crm_die(CRM_EXIT_USAGE, "configuration %s: not an integer: '%s'", key, v);
	return l;
}

static int
is_dir(const char *p)
{
	return access(p, R_OK | X_OK) == 0;
}

const char *
crm_datadir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *env = getenv("CRM_DATADIR");
	ssize_t n;

	if (dir[0])
		return dir;
	if (env && *env) {
		snprintf(dir, sizeof dir, "%s", env);
		return dir;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			/* build tree: <top>/build/bin -> <top>/lib/rules */
			snprintf(cand, sizeof cand, "%s/../../lib/rules", exe);
			if (is_dir(cand)) {
				snprintf(cand, sizeof cand, "%s/../../lib", exe);
				if (realpath(cand, dir))
					return dir;
			}
			snprintf(cand, sizeof cand, "%s/../share/crm/rules", exe);
			if (is_dir(cand)) {
				snprintf(cand, sizeof cand, "%s/../share/crm", exe);
				if (realpath(cand, dir))
					return dir;
			}
		}
	}
	snprintf(dir, sizeof dir, "%s", CRM_DATADIR);
	return dir;
}

const char *
crm_rules_path(const char *name)
{
	static char path[PATH_MAX + 256];
	const char *env = getenv("CRM_RULES_DIR");

	if (env && *env)
		snprintf(path, sizeof path, "%s/%s", env, name);
	else
		snprintf(path, sizeof path, "%s/rules/%s", crm_datadir(), name);
	return path;
}

char *
crm_list_next(FILE *f, char **line, size_t *cap, long *lineno)
{
	while (getline(line, cap, f) > 0) {
		char *c;
		(*lineno)++;
		if ((c = strchr(*line, '#')))
			*c = 0;
		c = trim(*line);
		if (*c)
			return c;
	}
	return NULL;
}
