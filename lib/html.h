/* html.h — HTML mail to readable plain text.
 * Block elements become line breaks, <br> a newline, <blockquote> content
 * is prefixed with "> " (so quote detection works on HTML-only mail),
 * list items get "- ", entities are decoded, <script>, <style>, <head>
 * and comments are dropped, whitespace is collapsed outside <pre>, and a
 * link whose text does not show its target is followed by " <target>"
 * (signatures often hide a LinkedIn URL behind an icon); an image's alt
 * text is written "[image: text]" (CRM_HTML_IMAGE_OPEN ... "]"), as Gmail
 * writes it in the text part of its mail.
 * Input and output are UTF-8; output is appended to the caller's buffer. */
#ifndef CRM_HTML_H
#define CRM_HTML_H

#include "buf.h"
#include <stddef.h>

/* What opens an image's alt text in the text; "]" closes it. */
#define CRM_HTML_IMAGE_OPEN "[image: "
#define CRM_HTML_IMAGE_OPEN_LEN (sizeof CRM_HTML_IMAGE_OPEN - 1)

void crm_html_to_text(struct crm_buf *out, const char *html, size_t n);
/* Decode one entity at s ("&amp;..."), appending UTF-8; returns bytes
 * consumed, 0 if s does not start a known entity. */
size_t crm_html_entity(struct crm_buf *out, const char *s, size_t n);
/* The charset named by a <meta> tag in the first 4 KB, or NULL; written
 * into buf (size bytes). */
const char *crm_html_meta_charset(const char *html, size_t n, char *buf, size_t size);

#endif
