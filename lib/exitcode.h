/* exitcode.h — the one exit-status table of crm (DESIGN.md §3, crm(7)).
 * Every program returns one of these; a rejected record makes status 1
 * sticky for the rest of the run. */
#ifndef CRM_EXITCODE_H
#define CRM_EXITCODE_H

enum crm_exit {
	CRM_EXIT_OK = 0,        /* success */
	CRM_EXIT_REJECTS = 1,   /* some records rejected (see --rejects) */
	CRM_EXIT_USAGE = 2,     /* bad command line, bad rules/config file */
	CRM_EXIT_ENV = 3,       /* database, server, credentials, network, I/O */
	CRM_EXIT_CONFLICT = 4,  /* data conflict, e.g. UIDVALIDITY changed */
};

#endif
