/* crm — the dispatcher: "crm NAME ARGS" runs "crm-NAME ARGS", looked up
 * first beside this executable, then on PATH (like git), so new programs
 * need no rebuild.  "crm help" lists the programs found. */
#include "exitcode.h"
#include "log.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct { const char *name, *what; } known[] = {
	{ "sync", "pull mail (Maildir, mbox, IMAP, Gmail, Graph) into message records" },
	{ "thread", "group messages into conversations (JWZ threading)" },
	{ "parse-signature", "split reply from quoted text, extract the sender's signature" },
	{ "intent", "label what the sender wants; detect auto-replies, bounces, lists" },
	{ "store", "load records into PostgreSQL" },
	{ "db", "manage the embedded PostgreSQL cluster" },
	{ "autofill", "fill empty CRM fields from mail above a confidence threshold" },
	{ "review", "approve or reject queued suggestions" },
	{ "route", "assign messages to owners by rules" },
	{ "learn", "learn from accepted and rejected suggestions" },
	{ "suggest", "ranked suggestions for one field of one entity" },
	{ "account", "manage mail accounts and their encrypted credentials" },
	{ "oauth", "authorize and refresh OAuth2 tokens" },
};

static char selfdir[PATH_MAX];

static void
find_self(void)
{
	ssize_t n = readlink("/proc/self/exe", selfdir, sizeof selfdir - 1);
	if (n > 0) {
		selfdir[n] = 0;
		char *s = strrchr(selfdir, '/');
		if (s)
			*s = 0;
	} else
		selfdir[0] = 0;
}

static const char *
what(const char *name)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(known[i].name, name))
			return known[i].what;
	return "";
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
help(void)
{
	char *names[256];
	size_t n = 0;
	char path[PATH_MAX * 2];
	const char *env = getenv("PATH");
	char *dirs = crm_xstrdup(env ? env : "");

	snprintf(path, sizeof path, "%s:%s", selfdir, dirs);
	free(dirs);
	for (char *d = strtok(path, ":"); d; d = strtok(NULL, ":")) {
		DIR *dp = opendir(*d ? d : ".");
		struct dirent *de;
		while (dp && (de = readdir(dp))) {
			if (strncmp(de->d_name, "crm-", 4) || !de->d_name[4])
				continue;
			char full[PATH_MAX * 2];
			snprintf(full, sizeof full, "%s/%s", d, de->d_name);
			if (access(full, X_OK))
				continue;
			int dup = 0;
			for (size_t i = 0; i < n; i++)
				dup |= !strcmp(names[i], de->d_name + 4);
			if (!dup && n < sizeof names / sizeof names[0])
				names[n++] = crm_xstrdup(de->d_name + 4);
		}
		if (dp)
			closedir(dp);
	}
	qsort(names, n, sizeof names[0], cmpstr);
	printf("usage: crm NAME [ARGS...]   (runs crm-NAME)\n\nPrograms:\n");
	for (size_t i = 0; i < n; i++) {
		printf("  %-16s %s\n", names[i], what(names[i]));
		free(names[i]);
	}
	printf("\nSee crm(7) for the pipeline and crm-NAME(1) for each program.\n");
	return fflush(stdout) || ferror(stdout) ? CRM_EXIT_ENV : 0;
}

int
main(int argc, char **argv)
{
	char prog[PATH_MAX + 64];
	static char *help_args[3];

	crm_log_init(argv[0]);
	find_self();
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		if (argc > 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
			/* crm help NAME: the program's own --help */
			snprintf(prog, sizeof prog, "crm-%s", argv[2]);
			help_args[0] = prog;
			help_args[1] = "--help";
			argv = help_args;
			goto run;
		}
		return argc < 2 ? (help(), CRM_EXIT_USAGE) : help();
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("crm %s\n", CRM_VERSION);
		return 0;
	}
	if (argv[1][0] == '-' || strchr(argv[1], '/')) {
		crm_warn("unknown option '%s'; usage: crm NAME [ARGS...]", argv[1]);
		return CRM_EXIT_USAGE;
	}
	snprintf(prog, sizeof prog, "crm-%s", argv[1]);
	argv++;
	argv[0] = prog;
run:
	if (selfdir[0]) {
		char full[PATH_MAX * 2 + 64];
		snprintf(full, sizeof full, "%s/%s", selfdir, prog);
		if (access(full, X_OK) == 0)
			execv(full, argv);
	}
	execvp(prog, argv);
	crm_warn("'%s' is not a crm program (no %s found); see 'crm help'", prog + 4, prog);
	return CRM_EXIT_USAGE;
}
