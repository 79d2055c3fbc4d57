# helper.bash — loaded by every suite: environment, fixtures, JSON checks.
# Programs come from $CRM_BUILD/bin (set by scripts/run-tests).

FIX="$BATS_TEST_DIRNAME/fixtures"
: "${CRM_TOP:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
export LC_ALL=C TZ=UTC

# json_eq A B: the two JSON texts are equal as values (key order ignored).
json_eq() {
	local a b
	a=$(printf '%s' "$1" | jq -S -c .) || return 1
	b=$(printf '%s' "$2" | jq -S -c .) || return 1
	if [ "$a" != "$b" ]; then
		printf 'expected: %s\nactual:   %s\n' "$b" "$a" >&2
		return 1
	fi
}

# jq_is FILTER EXPECTED [JSON]: jq -r FILTER over JSON (default $output) equals EXPECTED.
jq_is() {
	local got
	got=$(printf '%s' "${3-$output}" | jq -r "$1") || return 1
	if [ "$got" != "$2" ]; then
		printf 'jq %s\nexpected: %s\nactual:   %s\n' "$1" "$2" "$got" >&2
		return 1
	fi
}

# every line of FILE (or $output) is a JSON object
all_json() {
	printf '%s\n' "${1-$output}" | jq -e -s 'all(type == "object")' >/dev/null
}
bats_require_minimum_version 1.5.0
