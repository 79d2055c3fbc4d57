/* jsonl.h — the JSON-lines stream every stage reads and writes
 * (crm-record(5)).
 *
 * Reader: lines from stdin or files, each parsed into a json-c object;
 * blank lines are skipped; a line that is not a JSON object, is not
 * UTF-8, or exceeds the maximum length is rejected (reported on stderr
 * with input and line number, written whole to the rejects file) and
 * reading goes on.  The reader owns crm_rec.obj and crm_rec.line: they
 * stay valid until the next crm_reader_next() call.
 *
 * Writer: crm_emit_keys() writes a record with a stage's own keys added.
 * When none of those keys is already present, the input line is copied
 * byte for byte and the new members are spliced in before its closing
 * brace: keys a stage does not own pass through untouched, and the stage
 * never re-serialises them.  Otherwise the object is updated and
 * re-serialised (values equal, bytes may differ). */
#ifndef CRM_JSONL_H
#define CRM_JSONL_H

#include "buf.h"

#include <json.h>
#include <stddef.h>
#include <stdio.h>

#define CRM_MAX_LINE_DEFAULT (64UL << 20)   /* 64 MiB */

struct crm_rec {
	json_object *obj;        /* the parsed record (owned by the reader) */
	const char *line;        /* its raw bytes, no newline */
	size_t len;
	const char *input;       /* "<stdin>" or the file name */
	long lineno;
};

struct crm_reader;

/* paths: NULL-terminated list of files, or NULL/empty for stdin; "-" is stdin. */
struct crm_reader *crm_reader_new(char **paths, size_t max_line);
/* 1: a record in *r; 0: end of all inputs. */
int crm_reader_next(struct crm_reader *rd, struct crm_rec *r);
unsigned long crm_reader_count(const struct crm_reader *rd);
void crm_reader_free(struct crm_reader *rd);

/* Rejects (the dead-letter file).  NULL or "-" means stderr.  The file
 * is opened for append, so earlier rejects are never lost. */
void crm_rejects_open(const char *path);
/* Report a record that cannot be processed: message on stderr with its
 * position, the whole line to the rejects file.  Makes the exit status 1. */
void crm_reject(const struct crm_rec *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void crm_reject_raw(const char *input, long lineno, const void *data,
    size_t len, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
unsigned long crm_rejects_count(void);
FILE *crm_rejects_file(void);

/* Writer (stdout). */
void crm_emit_json(json_object *obj);
void crm_emit_line(const char *line, size_t len);
void crm_emit_keys(const struct crm_rec *r, size_t n, const char *const *keys,
    json_object *const *vals);
/* The splicing half of crm_emit_keys(), for a stage that parsed the line
 * earlier and knows it is a JSON object holding none of keys (empty: it
 * has no members): copies the line and adds the keys before its closing
 * brace.  Returns -1, writing nothing, if the line does not end with '}'. */
int crm_emit_splice(const char *line, size_t len, int empty, size_t n,
    const char *const *keys, json_object *const *vals);
/* Flush and check stdout; returns 0 or CRM_EXIT_ENV (after a message). */
int crm_output_close(void);
/* The exit status of a stage: 0, or 1 when anything was rejected. */
int crm_status(void);
void crm_status_fail(int code);

/* A JSON string value of a record, or NULL when absent or not a string. */
const char *crm_get_str(json_object *obj, const char *key);
json_object *crm_get(json_object *obj, const char *key);

/* JSON string escaping as json-c does it (see jsonl.c):
 * crm_json_plain(): how many bytes of s need no escape ('/' counts when
 * slash is set); crm_json_esc1(): json-c's escape of such a byte into e,
 * its length returned; crm_json_escape(): s appended to b as a quoted JSON
 * string, the bytes json-c writes with JSON_C_TO_STRING_NOSLASHESCAPE. */
size_t crm_json_plain(const char *s, size_t n, int slash);
size_t crm_json_esc1(unsigned char c, char e[7]);
void crm_json_escape(struct crm_buf *b, const char *s, size_t n);
/* The same for bytes that may not be valid UTF-8: invalid sequences
 * become U+FFFD first (crm_utf8_repair). */
void crm_json_escape_utf8(struct crm_buf *b, const char *s, size_t n);

/* A json-c string object for long text (bodies): the same value and the
 * same serialised bytes as json_object_new_string_len(), but written by a
 * serialiser that scans sixteen bytes at a time (see jsonl.c). */
json_object *crm_json_text(const char *s, size_t n);

/* A value already rendered as JSON text by the caller (json, n bytes,
 * which must be valid JSON): json-c writes it back unchanged, so that a
 * stage that renders its keys by hand can hand them to crm_stage_set()
 * without a parse.  Reading it with json-c's getters gives the text, not
 * a parsed value: it is for output only. */
json_object *crm_json_raw(const char *json, size_t n);

/* A new JSON string of s, with invalid UTF-8 replaced by U+FFFD. */
json_object *crm_json_utf8(const char *s, size_t n);

/* Serialise without slash escaping (the crm output convention). */
const char *crm_json_str(json_object *obj, size_t *len);

#endif
