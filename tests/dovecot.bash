# dovecot.bash — a throwaway Dovecot IMAP server for a bats file, after
# /work/shared/recipes/dovecot-imap-peer.md (verified there on Dovecot 2.3.19).
#
#   setup_file()    { load dovecot; dc_start; }
#   teardown_file() { dc_stop_all; }
#
# dc_start makes, under a fresh short temp dir $DC:
#   - a test CA ($DC/ssl/ca.pem) and a server certificate it signs for
#     DNS:localhost and IP:127.0.0.1 (not 127.0.0.2: the wrong-name test);
#   - passwd-file users ($DC/users/NAME), first test / secret ($DC_USER / $DC_PASS);
#   - an oauth2 passdb for XOAUTH2/OAUTHBEARER checking tokens at a local
#     tokeninfo endpoint (tests/mockhttp.py): "valid-token" is user test;
#   - Dovecot listening on 127.0.0.1 and 127.0.0.2: $DC_PORT (plain and
#     STARTTLS) and $DC_TLSPORT (implicit TLS), free high ports;
#   - auth delays off (auth_failure_delay = 0, no anvil penalty socket).
# Then: dc_seed FILE...   (messages into INBOX's Maildir, deterministic UIDs)
#       dc_deliver [-m FOLDER] FILE...  (doveadm save while running)
#       dc_uidvalidity N [FOLDER]   dc_stop   dc_kill   dc_restart   dc_log
#       dc_user NAME PASS   (then DC_USER=NAME dc_seed ...)
# Nothing is written outside $DC.  Runs as root (mail as nobody) or as the
# invoking user.

DC_HERE="${BASH_SOURCE[0]%/*}"
# Debian's python3 (a version manager's shim can cost half a second a call)
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

dc_free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

dc_wait_port() {
	local i
	for i in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# mock_start DIR ROUTES.json [CERT KEY]: a tests/mockhttp.py server logging
# to DIR/req.log; sets MOCK_PORT, MOCK_PID, MOCK_LOG.
mock_start() {
	local d=$1 routes=$2
	shift 2
	rm -f "$d/port"
	: >"$d/req.log"
	$PY "$DC_HERE/mockhttp.py" "$d/port" "$routes" "$d/req.log" "$@" </dev/null >/dev/null 2>"$d/mock.err" 3>&- &
	MOCK_PID=$!
	local i
	for i in $(seq 1 200); do
		[ -s "$d/port" ] && break
		sleep 0.025
	done
	[ -s "$d/port" ] || { cat "$d/mock.err" >&2; return 1; }
	MOCK_PORT=$(cat "$d/port")
	MOCK_LOG="$d/req.log"
	echo "$MOCK_PID" >"$d/mock.pid"
	export MOCK_PORT MOCK_PID MOCK_LOG
}

# mock_routes PORT ROUTES.json: replace a running mock's routes.
mock_routes() {
	curl -sf -X POST --data-binary "@$2" "http://127.0.0.1:$1/_mock/routes" >/dev/null
}

mock_stop() {
	local f=$1/mock.pid
	[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	rm -f "$f"
	return 0
}

dc_mu() {
	if [ "$(id -u)" = 0 ]; then echo nobody; else id -un; fi
}

dc_mg() {
	if [ "$(id -u)" = 0 ]; then echo nogroup; else id -gn; fi
}

dc_certs() {
	local s=$DC/ssl
	mkdir -p "$s"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=crm test CA" \
	    -keyout "$s/ca.key" -out "$s/ca.pem" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
	    -keyout "$s/key.pem" -out "$s/req.csr" 2>/dev/null || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$s/ext.cnf"
	openssl x509 -req -in "$s/req.csr" -CA "$s/ca.pem" -CAkey "$s/ca.key" \
	    -CAcreateserial -days 2 -extfile "$s/ext.cnf" -out "$s/cert.pem" 2>/dev/null || return 1
	chmod 600 "$s/key.pem" "$s/ca.key"
}

dc_config() {
	local mu mg
	mu=$(dc_mu)
	mg=$(dc_mg)
	mkdir -p "$DC/users"
	dc_user "$DC_USER" "$DC_PASS"
	cat >"$DC/oauth2.conf.ext" <<-CONF
	tokeninfo_url = http://127.0.0.1:$DC_OAUTH_PORT/tokeninfo?access_token=
	username_attribute = email
	CONF
	cat >"$DC/dovecot.conf" <<-CONF
	base_dir = $DC/run
	state_dir = $DC/state
	instance_name = crm-test-$DC_PORT
	log_path = $DC/dovecot.log
	info_log_path = $DC/dovecot.log
	protocols = imap
	listen = 127.0.0.1, 127.0.0.2
	ssl = yes
	ssl_cert = <$DC/ssl/cert.pem
	ssl_key = <$DC/ssl/key.pem
	disable_plaintext_auth = no
	auth_mechanisms = plain login xoauth2 oauthbearer
	auth_verbose = yes
	auth_failure_delay = 0
	mail_location = maildir:$DC/mail/%u/Maildir
	first_valid_uid = 1
	mail_uid = $mu
	mail_gid = $mg
	passdb {
	  driver = oauth2
	  mechanisms = xoauth2 oauthbearer
	  args = $DC/oauth2.conf.ext
	}
	passdb {
	  driver = passwd-file
	  mechanisms = plain login
	  args = scheme=PLAIN username_format=%u $DC/users/%u
	}
	userdb {
	  driver = static
	  args = home=$DC/mail/%u allow_all_users=yes
	}
	service anvil {
	  unix_listener anvil-auth-penalty {
	    mode = 0
	  }
	}
	service imap-login {
	  inet_listener imap {
	    address = 127.0.0.1, 127.0.0.2
	    port = $DC_PORT
	  }
	  inet_listener imaps {
	    address = 127.0.0.1, 127.0.0.2
	    port = $DC_TLSPORT
	    ssl = yes
	  }
	}
	CONF
	dovecot -c "$DC/dovecot.conf" -n >/dev/null
}

dc_tokeninfo_routes() {
	cat <<-'JSON'
	[{"method": "GET", "path": "/tokeninfo", "query": {"access_token": "valid-token"},
	  "responses": [{"status": 200, "json": {"email": "test", "active": true, "scope": "mail"}}]},
	 {"method": "GET", "path": "/tokeninfo",
	  "responses": [{"status": 401, "json": {"error": "invalid_token"},
	                 "headers": {"WWW-Authenticate": "Bearer error=\"invalid_token\""}}]}]
	JSON
}

dc_start() {
	command -v dovecot >/dev/null || { echo "dovecot is not installed" >&2; return 1; }
	DC=$(mktemp -d /tmp/dcXXXXXX)
	chmod 755 "$DC"
	mkdir -p "$DC/run" "$DC/state" "$DC/mail" "$DC/oauth"
	DC_USER=test DC_PASS=secret
	DC_PORT=$(dc_free_port)
	DC_TLSPORT=$(dc_free_port)
	while [ "$DC_TLSPORT" = "$DC_PORT" ]; do DC_TLSPORT=$(dc_free_port); done
	DC_CA=$DC/ssl/ca.pem
	dc_tokeninfo_routes >"$DC/oauth/routes.json"
	mock_start "$DC/oauth" "$DC/oauth/routes.json" || return 1
	DC_OAUTH_PORT=$MOCK_PORT
	export DC DC_USER DC_PASS DC_PORT DC_TLSPORT DC_CA DC_OAUTH_PORT
	dc_certs || return 1
	dc_config || return 1
	dc_up
}

dc_up() {
	chown -R "$(dc_mu):$(dc_mg)" "$DC/mail"
	dovecot -c "$DC/dovecot.conf" </dev/null >/dev/null 2>&1 3>&- || { cat "$DC/dovecot.log" >&2; return 1; }
	dc_wait_port "$DC_PORT" && dc_wait_port "$DC_TLSPORT" || { cat "$DC/dovecot.log" >&2; return 1; }
}

# dc_stop: SIGTERM to the master, wait until it and its children are gone.
dc_stop() {
	local p i
	p=$(cat "$DC/run/master.pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$p" 2>/dev/null
	rm -f "$DC/run/master.pid"
	return 0
}

# dc_kill: the server dies at once: SIGKILL to the master and to each of
# its children (the imap processes serving open connections included).
dc_kill() {
	local p kids
	p=$(cat "$DC/run/master.pid" 2>/dev/null) || return 0
	kids=$(ps -o pid= --ppid "$p" 2>/dev/null)
	kill -9 "$p" $kids 2>/dev/null
	while kill -0 "$p" 2>/dev/null; do sleep 0.02; done
	rm -f "$DC/run/master.pid"
	return 0
}

dc_restart() {
	dc_stop && dc_up
}

dc_stop_all() {
	[ -n "${DC:-}" ] || return 0
	dc_kill                        # a clean shutdown takes 2.5 s and proves nothing here
	mock_stop "$DC/oauth"
	rm -rf "$DC"
}

dc_log() {
	cat "$DC/dovecot.log"
}

# dc_user NAME PASSWORD: a mail user, in a passwd file of its own (one
# shared file is re-read at most once a second: a user added just after a
# login would be unknown for up to a second); use DC_USER=NAME with the
# helpers below.
dc_user() {
	printf '%s:{PLAIN}%s::::\n' "$1" "$2" >"$DC/users/$1"
	chmod 644 "$DC/users/$1"
}

# dc_maildir [FOLDER]: the Maildir directory of a folder of user test.
dc_maildir() {
	local m="$DC/mail/$DC_USER/Maildir"
	case ${1:-INBOX} in
	INBOX) echo "$m" ;;
	*) echo "$m/.$1" ;;
	esac
}

# dc_seed [-m FOLDER] FILE...: drop messages into the Maildir's new/.
# Dovecot gives UIDs in file-name timestamp order at the next SELECT; the
# file time becomes INTERNALDATE; CRLF line ends make the file size equal
# to RFC822.SIZE.
dc_seed() {
	local folder=INBOX m
	if [ "$1" = -m ]; then folder=$2; shift 2; fi
	m=$(dc_maildir "$folder")
	mkdir -p "$m/cur" "$m/new" "$m/tmp"
	# one interpreter for all the files: a fork per file is slow
	$PY - "$m" "$@" <<'PY' || return 1
import os, sys, time
m, files = sys.argv[1], sys.argv[2:]
seq_file = os.path.join(m, "tmp", ".seq")
try:
    seq = int(open(seq_file).read())
except (OSError, ValueError):
    seq = 0
for f in files:
    seq += 1
    ts = 1704103200 + seq * 60
    data = open(f, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    tmp = os.path.join(m, "tmp", "seed.%d" % seq)
    with open(tmp, "wb") as out:
        out.write(data)
    dst = os.path.join(m, "new", "%d.M%dP%d.crmtest" % (ts, seq, os.getpid()))
    os.rename(tmp, dst)
    os.utime(dst, (ts, ts))
with open(seq_file, "w") as out:
    out.write(str(seq))
PY
	chown -R "$(dc_mu):$(dc_mg)" "$DC/mail"
}

# dc_deliver [-m FOLDER] FILE...: deliver through Dovecot while it runs.
dc_deliver() {
	local folder=INBOX f
	if [ "$1" = -m ]; then
		folder=$2
		shift 2
		doveadm -c "$DC/dovecot.conf" mailbox create -u "$DC_USER" "$folder" 2>/dev/null
	fi
	for f in "$@"; do
		sed 's/\r*$/\r/' "$f" | doveadm -c "$DC/dovecot.conf" save -u "$DC_USER" -m "$folder" || return 1
	done
}

# dc_uidvalidity N [FOLDER]: give a folder a new UIDVALIDITY (as a server
# does after its index was rebuilt); the UIDs are reassigned.
dc_uidvalidity() {
	doveadm -c "$DC/dovecot.conf" mailbox update -u "$DC_USER" --uid-validity "$1" "${2:-INBOX}"
}

# dc_count [FOLDER]: messages in a folder, as Dovecot sees it.
dc_count() {
	doveadm -c "$DC/dovecot.conf" mailbox status -u "$DC_USER" messages "${1:-INBOX}" | sed 's/.*=//'
}
