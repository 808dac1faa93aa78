# A real S3-compatible object store for the tests that talk to one:
# OpenStack Swift with its s3api middleware, and the memcached its
# tempauth needs, all on loopback under the test's scratch directory.
# Source after lib.sh. Nothing under /etc is read or written: every
# server's swift_dir is the scratch directory, which holds swift.conf
# and the rings built here.

# S3: the Debian packages that make the store are installed.
prereq_S3() {
	local tool
	for tool in swift-proxy-server swift-object-server swift-container-server \
		swift-account-server swift-ring-builder memcached; do
		command -v "$tool" >/dev/null 2>&1 && continue
		prereq_why="needs $tool (apt-get install swift swift-proxy swift-object swift-container swift-account python3-swift memcached)"
		return 1
	done
}

# free_ports N: N TCP ports nobody listens on at the moment, one a line.
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PY
}

# s3_server_conf FILE PORT NAME: the configuration of a storage server.
s3_server_conf() {
	cat >"$1" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
workers = 0
swift_dir = $s3_dir
devices = $s3_dir/srv
mount_check = false
log_name = $3

[pipeline:main]
pipeline = $3

[app:$3]
use = egg:swift#${3%-server}
CONF
}

# start_s3: starts the store; sets S3_ENDPOINT (http://127.0.0.1:PORT),
# exports the test account's keys as AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, and stops everything when the file ends. A store
# that does not answer within 30 seconds ends the file ("Bail out!").
start_s3() {
	local proxy object container account cache ring i port
	s3_dir=$scratch/swift
	mkdir -p "$s3_dir/srv/d1" "$s3_dir/run"
	# shellcheck disable=SC2046
	set -- $(free_ports 5)
	proxy=$1 object=$2 container=$3 account=$4 cache=$5
	cat >"$s3_dir/swift.conf" <<CONF
[swift-hash]
swift_hash_path_prefix = troupe-test
swift_hash_path_suffix = troupe-test

[storage-policy:0]
name = gold
default = yes
CONF
	for ring in object:$object container:$container account:$account; do
		(
			cd "$s3_dir" &&
				swift-ring-builder "${ring%%:*}.builder" create 6 1 1 &&
				swift-ring-builder "${ring%%:*}.builder" add "r1z1-127.0.0.1:${ring#*:}/d1" 1 &&
				swift-ring-builder "${ring%%:*}.builder" rebalance
		) >>"$s3_dir/rings.log" 2>&1
	done
	s3_server_conf "$s3_dir/object.conf" "$object" object-server
	s3_server_conf "$s3_dir/container.conf" "$container" container-server
	s3_server_conf "$s3_dir/account.conf" "$account" account-server
	cat >"$s3_dir/proxy.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $proxy
workers = 0
swift_dir = $s3_dir
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$cache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = s3cret-troupe-7f2a .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
CONF
	memcached -l 127.0.0.1 -p "$cache" -U 0 -u root >"$s3_dir/memcached.log" 2>&1 &
	s3_pids=$!
	for i in object container account proxy; do
		"swift-$i-server" "$s3_dir/$i.conf" -v >"$s3_dir/$i.log" 2>&1 &
		s3_pids="$s3_pids $!"
	done
	test_atexit 'kill $s3_pids'
	S3_ENDPOINT=http://127.0.0.1:$proxy
	export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=s3cret-troupe-7f2a
	# Up when every server answers HTTP on its port.
	local up
	for i in $(seq 1 300); do
		up=0
		for port in $proxy $object $container $account; do
			curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && up=$((up + 1))
		done
		[ "$up" = 4 ] && return 0
		sleep 0.1
	done
	echo "Bail out! Swift did not start: $(tail -n 5 "$s3_dir/proxy.log")"
	exit 99
}

# Requests signed here, in Python, so that the store's side is not
# checked with troupe's own client: s3_call METHOD PATH prints the status
# and the ETag. make_bucket NAME makes a bucket.
s3_call() {
	python3 - "$S3_ENDPOINT" "$1" "$2" <<'PY'
import datetime, hashlib, hmac, os, sys, time, urllib.error, urllib.request
endpoint, method, path = sys.argv[1:4]
host = endpoint.split("://", 1)[1]
for attempt in range(50):
    now = datetime.datetime.utcnow()
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    empty = hashlib.sha256(b"").hexdigest()
    canon = "\n".join([method, path, "", "host:" + host, "x-amz-content-sha256:" + empty,
                       "x-amz-date:" + amz, "", "host;x-amz-content-sha256;x-amz-date", empty])
    scope = day + "/us-east-1/s3/aws4_request"
    tosign = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                        hashlib.sha256(canon.encode()).hexdigest()])
    key = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, tosign.encode(), hashlib.sha256).hexdigest()
    auth = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=host;x-amz-content-sha256;"
            "x-amz-date, Signature=%s" % (os.environ["AWS_ACCESS_KEY_ID"], scope, sig))
    req = urllib.request.Request(endpoint + path, method=method, headers={
        "x-amz-date": amz, "x-amz-content-sha256": empty, "Authorization": auth})
    try:
        r = urllib.request.urlopen(req)
        print(r.status, r.headers.get("ETag", ""))
        break
    except urllib.error.HTTPError as e:
        # A new account is made on first use: Swift answers 503 until then.
        if e.code != 503:
            print(e.code, "")
            break
        time.sleep(0.2)
PY
}
make_bucket() { s3_call PUT "/$1" | grep -q '^200'; }
