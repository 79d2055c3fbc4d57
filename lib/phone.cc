/* phone.cc — the C++ shim over libphonenumber (see phone.h).
 *
 * libphonenumber is C++ only; this file is the one place crm touches it.
 * Every entry point catches all exceptions (std::bad_alloc from strings)
 * so that none crosses into C, and the singleton PhoneNumberUtil is
 * fetched once.  Its own logging goes to stderr through a logger we
 * silence: a library must not chatter on a stage's stderr. */
#include "phone.h"

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstdint>
#include <cstring>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberMatch;
using i18n::phonenumbers::PhoneNumberMatcher;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

class QuietLogger : public i18n::phonenumbers::Logger {
public:
	void WriteMessage(const std::string &) override {}
};

const PhoneNumberUtil *
util()
{
	static const PhoneNumberUtil *u = [] {
		PhoneNumberUtil *p = PhoneNumberUtil::GetInstance();
		static QuietLogger quiet;
		p->SetLogger(&quiet);
		return p;
	}();
	return u;
}

std::string
region_or_fr(const char *region)
{
	if (!region || !*region)
		return "FR";
	std::string r(region);
	for (auto &c : r)
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
	return r;
}

int
type_of(const PhoneNumberUtil *u, const PhoneNumber &num)
{
	switch (u->GetNumberType(num)) {
	case PhoneNumberUtil::FIXED_LINE: return CRM_PHONE_FIXED;
	case PhoneNumberUtil::MOBILE: return CRM_PHONE_MOBILE;
	case PhoneNumberUtil::FIXED_LINE_OR_MOBILE: return CRM_PHONE_FIXED_OR_MOBILE;
	case PhoneNumberUtil::TOLL_FREE: return CRM_PHONE_TOLL_FREE;
	case PhoneNumberUtil::VOIP: return CRM_PHONE_VOIP;
	default: return CRM_PHONE_OTHER;
	}
}

void
put_e164(const PhoneNumberUtil *u, const PhoneNumber &num, char *out)
{
	std::string s;
	u->Format(num, PhoneNumberUtil::E164, &s);
	std::snprintf(out, CRM_PHONE_MAX, "%s", s.c_str());
}

} // namespace

/* Parsing costs some 150,000 instructions (ICU regular expressions) and
 * the same numbers recur (a sender's signature, a firm's switchboard):
 * results are kept in a small direct-mapped table per thread. */
struct memo {
	char key[80];            /* region '|' text */
	char e164[CRM_PHONE_MAX];
	int type;
};

static thread_local memo memos[512];

static uint64_t
memo_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int
parse_uncached(const char *text, size_t len, const char *region, char e164[CRM_PHONE_MAX]);

extern "C" int
crm_phone_parse(const char *text, size_t len, const char *region,
    char e164[CRM_PHONE_MAX])
{
	char key[80];
	size_t rl;

	e164[0] = 0;
	if (!text || len == 0 || len > 64)
		return CRM_PHONE_INVALID;
	if (!region)
		region = "FR";
	rl = std::strlen(region);
	if (rl + 1 + len + 1 > sizeof key)
		return parse_uncached(text, len, region, e164);
	std::memcpy(key, region, rl);
	key[rl] = '|';
	std::memcpy(key + rl + 1, text, len);
	key[rl + 1 + len] = 0;
	memo &m = memos[memo_hash(key, rl + 1 + len) % (sizeof memos / sizeof memos[0])];
	if (!std::strcmp(m.key, key)) {
		std::memcpy(e164, m.e164, CRM_PHONE_MAX);
		return m.type;
	}
	int t = parse_uncached(text, len, region, e164);
	std::memcpy(m.key, key, rl + 2 + len);
	std::memcpy(m.e164, e164, CRM_PHONE_MAX);
	m.type = t;
	return t;
}

static int
parse_uncached(const char *text, size_t len, const char *region, char e164[CRM_PHONE_MAX])
{
	e164[0] = 0;
	try {
		const PhoneNumberUtil *u = util();
		PhoneNumber num;
		if (u->Parse(std::string(text, len), region_or_fr(region), &num)
		    != PhoneNumberUtil::NO_PARSING_ERROR)
			return CRM_PHONE_INVALID;
		if (!u->IsValidNumber(num))
			return CRM_PHONE_INVALID;
		put_e164(u, num, e164);
		return type_of(u, num);
	} catch (...) {
		e164[0] = 0;
		return CRM_PHONE_INVALID;
	}
}

extern "C" int
crm_phone_possible(const char *text, size_t len, const char *region,
    char e164[CRM_PHONE_MAX])
{
	e164[0] = 0;
	if (!text || len == 0 || len > 64)
		return CRM_PHONE_INVALID;
	try {
		const PhoneNumberUtil *u = util();
		PhoneNumber num;
		if (u->Parse(std::string(text, len), region_or_fr(region), &num)
		    != PhoneNumberUtil::NO_PARSING_ERROR || !u->IsPossibleNumber(num))
			return CRM_PHONE_INVALID;
		/* a 0 kept after the country code ("02 123 45 67" read in FR
		 * as +33 021...) is a trunk prefix that did not belong there:
		 * another country's number, not a possible one of this region */
		if (num.italian_leading_zero())
			return CRM_PHONE_INVALID;
		int mob = u->IsPossibleNumberForType(num, PhoneNumberUtil::MOBILE);
		int fix = u->IsPossibleNumberForType(num, PhoneNumberUtil::FIXED_LINE);
		put_e164(u, num, e164);
		return mob && !fix ? CRM_PHONE_MOBILE : fix && !mob ? CRM_PHONE_FIXED : CRM_PHONE_OTHER;
	} catch (...) {
		e164[0] = 0;
		return CRM_PHONE_INVALID;
	}
}

extern "C" const char *
crm_phone_type_name(int type)
{
	switch (type) {
	case CRM_PHONE_FIXED: return "fixed_line";
	case CRM_PHONE_MOBILE: return "mobile";
	case CRM_PHONE_FIXED_OR_MOBILE: return "fixed_line_or_mobile";
	case CRM_PHONE_TOLL_FREE: return "toll_free";
	case CRM_PHONE_VOIP: return "voip";
	case CRM_PHONE_OTHER: return "other";
	default: return "invalid";
	}
}

extern "C" int
crm_phone_region_ok(const char *region)
{
	if (!region || std::strlen(region) != 2)
		return 0;
	try {
		return util()->GetCountryCodeForRegion(region_or_fr(region)) != 0;
	} catch (...) {
		return 0;
	}
}

extern "C" int
crm_phone_region_of(const char *e164, char region[3])
{
	region[0] = 0;
	if (!e164)
		return -1;
	try {
		const PhoneNumberUtil *u = util();
		PhoneNumber num;
		std::string r;
		if (u->Parse(e164, "ZZ", &num) != PhoneNumberUtil::NO_PARSING_ERROR)
			return -1;
		u->GetRegionCodeForNumber(num, &r);
		if (r.size() != 2 || r == "ZZ")
			return -1;
		std::memcpy(region, r.c_str(), 3);
		return 0;
	} catch (...) {
		return -1;
	}
}

extern "C" size_t
crm_phone_find(const char *text, size_t len, const char *region,
    crm_phone_cb cb, void *arg)
{
	size_t n = 0;

	if (!text || len == 0)
		return 0;
	try {
		const PhoneNumberUtil *u = util();
		PhoneNumberMatcher m(*u, std::string(text, len), region_or_fr(region),
		    PhoneNumberMatcher::VALID, 64);
		PhoneNumberMatch match;
		char e164[CRM_PHONE_MAX];
		while (m.HasNext() && m.Next(&match)) {
			put_e164(u, match.number(), e164);
			if (cb)
				cb((size_t)match.start(), (size_t)match.end(), e164,
				    type_of(u, match.number()), arg);
			n++;
		}
	} catch (...) {
	}
	return n;
}
