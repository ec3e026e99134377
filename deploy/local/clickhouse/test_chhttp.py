"""Tests of chhttp.py, run with the engine's venv:

    ~/.cache/tongxin/chdb-4.4.0/bin/python -m unittest discover -s deploy/local/clickhouse -v

The Go side (internal/enginetest/clickhouse_test.go) tests the server the way
clickhouse-go uses it; these test the pieces and what curl users send.
"""

import base64
import bz2
import gzip
import http.client
import lzma
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chhttp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class AnalyzeTest(unittest.TestCase):
    def test_kinds_and_formats(self):
        st = chhttp.analyze(b"SELECT 1 FORMAT JSON")
        self.assertEqual((st.kind, st.out_format), ("SELECT", "JSON"))
        st = chhttp.analyze(b"select format from t")
        self.assertIsNone(st.out_format)
        st = chhttp.analyze(b"(SELECT 1) FORMAT TSV SETTINGS max_threads = 1;")
        self.assertEqual((st.kind, st.out_format, st.sql), ("SELECT", "TSV",
                                                             b"(SELECT 1) FORMAT TSV SETTINGS max_threads = 1"))
        st = chhttp.analyze(b"-- comment\n/* c */ SELECT 'a;b' -- FORMAT JSON")
        self.assertEqual((st.kind, st.out_format), ("SELECT", None))

    def test_multi_statements(self):
        with self.assertRaises(chhttp.CHError) as cm:
            chhttp.analyze(b"SELECT 1; SELECT 2")
        self.assertEqual(cm.exception.code, 62)
        self.assertEqual(chhttp.analyze(b"SELECT 1 ;\n").sql, b"SELECT 1")

    def test_insert_data(self):
        st = chhttp.analyze(b"INSERT INTO t (a, b) FORMAT Native\n\t\x00\x01")
        self.assertEqual((st.sql, st.in_format, st.data), (b"INSERT INTO t (a, b)", "Native", b"\t\x00\x01"))
        st = chhttp.analyze(b"INSERT INTO t SETTINGS x = 'FORMAT' FORMAT CSV  \n1,2\n")
        self.assertEqual((st.sql, st.in_format, st.data), (b"INSERT INTO t SETTINGS x = 'FORMAT'", "CSV", b"1,2\n"))
        st = chhttp.analyze(b"INSERT INTO t VALUES (1, 'x;y')")
        self.assertEqual((st.sql, st.in_format, st.data), (b"INSERT INTO t", "Values", b" (1, 'x;y')"))
        st = chhttp.analyze(b"INSERT INTO t SELECT 1")
        self.assertEqual((st.in_format, st.sql), (None, b"INSERT INTO t SELECT 1"))

    def test_set_and_use(self):
        self.assertEqual(chhttp.analyze(b"SET a = 1, b = 'x,y', c = (1, 2)").set_names, ["a", "b", "c"])
        self.assertEqual(chhttp.analyze(b"USE `my db`").use_db, "my db")


class NativeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from chdb import session
        cls.session = session.Session(":memory:")

    def native(self, sql):
        return bytes(self.session._conn.query(sql, "Native").bytes())

    def strip(self, buf):
        """The inverse of native_for_revision for revision >= 54454."""
        out, p = bytearray(), 0
        while p < len(buf):
            self.assertEqual(buf[p:p + 8], chhttp._BLOCK_INFO)
            p += 8
            ncols, p = chhttp._uvarint(buf, p)
            nrows, p = chhttp._uvarint(buf, p)
            out += chhttp._put_uvarint(ncols) + chhttp._put_uvarint(nrows)
            for _ in range(ncols):
                s = p
                ln, p = chhttp._uvarint(buf, p)
                p += ln
                ln, q = chhttp._uvarint(buf, p)
                typ = buf[q:q + ln].decode()
                p = q + ln
                out += buf[s:p]
                self.assertEqual(buf[p], 0)
                p += 1
                if nrows:
                    node = chhttp.parse_type(typ)
                    d = chhttp._skip_data(node, buf, chhttp._skip_prefix(node, buf, p), nrows)
                    out += buf[p:d]
                    p = d
        self.assertEqual(p, len(buf))
        return bytes(out)

    def test_types_round_trip(self):
        sql = """SELECT number AS n, toInt128(number) AS i, toDecimal128(number, 3) AS d, toString(number) AS s,
            toFixedString('ab', 2) AS fs, if(number % 3 = 0, NULL, number) AS nn,
            toLowCardinality(toString(number % 5)) AS lc,
            CAST(if(number % 2 = 0, NULL, 'x') AS LowCardinality(Nullable(String))) AS lcn,
            range(number % 4) AS arr, CAST([] AS Array(LowCardinality(String))) AS empty_lc,
            [[toString(number)], []] AS nested, map('k', number, 'l', 1) AS m,
            CAST((number, 'x') AS Tuple(a UInt64, b String)) AS t, CAST(number AS Variant(String, UInt64)) AS v,
            NULL AS nothing, [] AS empty, toIPv6('::1') AS ip, now64(9) AS ts, (1.5, 2.5)::Point AS pt,
            [[(1.0, 2.0)]]::Polygon AS poly, CAST('a' AS Enum16('a' = 1000)) AS e
            FROM numbers(500) SETTINGS max_block_size = 77"""
        raw = self.native(sql)
        self.assertEqual(self.strip(chhttp.native_for_revision(raw, 54460)), raw)

    def test_unsupported_type(self):
        raw = self.native("SELECT CAST(1 AS Dynamic) AS d")
        with self.assertRaises(chhttp.CHError) as cm:
            chhttp.native_for_revision(raw, 54460)
        self.assertEqual(cm.exception.code, 48)

    def test_header(self):
        self.assertEqual(chhttp.native_header([("a", "UInt8")], 0), b"\x01\x00\x01a\x05UInt8")


class CompressionTest(unittest.TestCase):
    def test_native_framing(self):
        data = os.urandom(3000) + b"a" * (3 << 20)
        for method in ("LZ4", "ZSTD", "NONE"):
            framed = chhttp.native_compress(data, method, 1)
            self.assertEqual(chhttp.native_decompress(framed, True), data, method)
        bad = bytearray(chhttp.native_compress(b"hello", "LZ4", 1))
        bad[-1] ^= 1
        with self.assertRaises(chhttp.CHError) as cm:
            chhttp.native_decompress(bytes(bad), True)
        self.assertEqual(cm.exception.code, 40)

    def test_content_encoding(self):
        self.assertEqual(chhttp.decode_content(gzip.compress(b"SELECT 1"), "gzip"), b"SELECT 1")
        two = gzip.compress(b"SELECT ") + gzip.compress(b"1")  # gzip members, as concatenated files are
        self.assertEqual(chhttp.decode_content(two, "gzip"), b"SELECT 1")
        for enc, packed in (("deflate", zlib.compress(b"abc" * 1000)), ("xz", lzma.compress(b"abc" * 1000)),
                            ("bz2", bz2.compress(b"abc" * 1000))):
            self.assertEqual(chhttp.decode_content(packed, enc), b"abc" * 1000, enc)
            with self.assertRaises(chhttp.CHError) as cm:
                chhttp.decode_content(packed, enc, limit=2999)
            self.assertEqual(cm.exception.code, 229, enc)
            with self.assertRaises(chhttp.CHError) as cm:
                chhttp.decode_content(packed[:-4], enc)
            self.assertEqual(cm.exception.code, 271, enc)
        with self.assertRaises(chhttp.CHError):
            chhttp.decode_content(b"x", "snappy-ish")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerTest(unittest.TestCase):
    """The server over HTTP, as curl would use it."""

    MAX_BODY, MAX_DECOMPRESSED = 1 << 20, 4 << 20

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.port = free_port()
        cls.start()

    @classmethod
    def start(cls):
        cls.token_file = os.path.join(cls.dir.name, "token")
        cls.token = secrets.token_urlsafe(32)  # a new one per start, as engine.sh does
        with open(os.open(cls.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(cls.token + "\n")
        cls.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "chhttp.py"), "serve", "--port", str(cls.port),
                                     "--data", os.path.join(cls.dir.name, "data"),
                                     "--log", os.path.join(cls.dir.name, "server.log"), "--token-file", cls.token_file,
                                     "--max-body", str(cls.MAX_BODY), "--max-decompressed", str(cls.MAX_DECOMPRESSED)])
        url = f"http://127.0.0.1:{cls.port}"
        for _ in range(300):
            if chhttp.main(["check", "--url", url, "--token-file", cls.token_file]) == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("server did not come up")

    @classmethod
    def stop(cls):
        cls.proc.terminate()
        cls.proc.wait(30)

    @classmethod
    def tearDownClass(cls):
        cls.stop()
        cls.dir.cleanup()

    def req(self, body=b"", method="POST", path="/", headers=None, auth=True, **params):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        if params:
            path += "?" + urllib.parse.urlencode(params)
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"default:{self.token}".encode()).decode()
        try:
            conn.request(method, path, body=body, headers=headers, encode_chunked="Transfer-Encoding" in headers)
            res = conn.getresponse()
            return res.status, res, res.read()
        finally:
            conn.close()

    def test_ping_and_select(self):
        self.assertEqual(self.req(method="GET", path="/ping")[2], b"Ok.\n")
        self.assertEqual(self.req(b"SELECT 1")[2], b"1\n")
        st, res, data = self.req(method="GET", query="SELECT 1 AS x FORMAT JSONEachRow")
        self.assertEqual((st, data, res.getheader("X-ClickHouse-Format")), (200, b'{"x":1}\n', "JSONEachRow"))

    def test_errors(self):
        st, res, data = self.req(b"SELECT * FROM nope")
        self.assertEqual((st, res.getheader("X-ClickHouse-Exception-Code")), (404, "60"))
        self.assertTrue(data.startswith(b"Code: 60. DB::Exception: "), data)
        st, res, data = self.req(b"SELECT 1", database="no_such_db")
        self.assertEqual((st, res.getheader("X-ClickHouse-Exception-Code")), (404, "81"))
        st, res, data = self.req(method="GET", query="CREATE TABLE x (a UInt8) ENGINE = Memory")
        self.assertEqual(res.getheader("X-ClickHouse-Exception-Code"), "164")
        st, res, data = self.req(b"\xff\xfe garbage")
        self.assertEqual(res.getheader("X-ClickHouse-Exception-Code"), "62")
        self.assertEqual(self.req(b"SELECT 2")[2], b"2\n")  # still serving

    def test_settings_are_per_query(self):
        self.assertEqual(self.req(b"SELECT getSetting('max_threads')", max_threads="1")[2], b"1\n")
        self.assertNotEqual(self.req(b"SELECT getSetting('max_threads')")[2], b"1\n")
        self.req(b"SET max_threads = 1")
        self.assertNotEqual(self.req(b"SELECT getSetting('max_threads')")[2], b"1\n")
        self.assertEqual(self.req(b"SELECT 1", no_such_setting="1")[0], 404)

    def test_sessions(self):
        self.req(b"SET max_threads = 1", session_id="s")
        self.assertEqual(self.req(b"SELECT getSetting('max_threads')", session_id="s")[2], b"1\n")
        self.assertNotEqual(self.req(b"SELECT getSetting('max_threads')")[2], b"1\n")

    def test_token_required(self):
        st, res, data = self.req(b"SELECT 1", auth=False)
        self.assertEqual((st, res.getheader("X-ClickHouse-Exception-Code")), (401, "194"), data)
        st, _, data = self.req(b"SELECT 1", auth=False, headers={
            "Authorization": "Basic " + base64.b64encode(b"default:" + b"x" * 43).decode()})
        self.assertEqual(st, 403, data)
        st, _, data = self.req(b"SELECT 1", auth=False, headers={"X-ClickHouse-User": "default",
                                                                 "X-ClickHouse-Key": self.token})
        self.assertEqual((st, data), (200, b"1\n"))
        self.assertEqual(self.req(method="GET", path="/ping", auth=False)[2], b"Ok.\n")  # liveness only

    def test_browsers_refused(self):
        for h in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                  {"Sec-Fetch-Mode": "no-cors"}, {"Host": "evil.example:%d" % self.port},
                  {"Host": "127.0.0.1.nip.io:%d" % self.port}):
            st, res, data = self.req(b"SELECT 1", headers=h)
            self.assertEqual(st, 403, (h, data))
            self.assertIsNone(res.getheader("Access-Control-Allow-Origin"), h)
        st, res, _ = self.req(method="OPTIONS", headers={"Origin": "http://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
        self.assertNotEqual(st // 100, 2)
        self.assertIsNone(res.getheader("Access-Control-Allow-Origin"))
        self.assertEqual(self.req(b"SELECT 1", headers={"Host": "localhost:%d" % self.port})[2], b"1\n")

    def test_host_reaching_statements_refused(self):
        secret = os.path.join(self.dir.name, "secret.txt")
        with open(secret, "w") as f:
            f.write("do not read me\n")
        out = os.path.join(self.dir.name, "written.csv")
        self.req(b"CREATE TABLE IF NOT EXISTS default.hr (s String) ENGINE = Memory")
        for sql in [f"SELECT * FROM file('{secret}', 'LineAsString')",
                    f"SELECT * FROM /* c */ `FiLe` ('{secret}', 'LineAsString')",
                    f"SELECT file('{secret}')",
                    f"SELECT * FROM view(SELECT * FROM file('{secret}', 'LineAsString'))",
                    f"INSERT INTO FUNCTION file('{out}', 'CSV', 's String') VALUES ('x')",
                    f"INSERT INTO default.hr VALUES (file('{secret}'))",
                    f"INSERT INTO default.hr SELECT * FROM file('{secret}', 'LineAsString')",
                    "SELECT * FROM url('http://127.0.0.1:9/', 'CSV', 's String')",
                    "SELECT * FROM s3('http://127.0.0.1:9/b/k', 'CSV', 's String')",
                    "SELECT * FROM remote('127.0.0.1:9', system.one)",
                    "SELECT * FROM executable('id', 'TSV', 's String')",
                    f"CREATE TABLE default.f (s String) ENGINE = File(CSV, '{out}')",
                    f"CREATE TABLE default.u (s String) ENGINE = URL('http://127.0.0.1:9/', CSV)",
                    "CREATE DATABASE fs ENGINE = Filesystem('/')",
                    f"CREATE DICTIONARY default.d (s String) PRIMARY KEY s SOURCE(FILE(path '{secret}' format 'CSV')) "
                    "LAYOUT(FLAT()) LIFETIME(0)",
                    f"CREATE TABLE default.dk (s String) ENGINE = MergeTree ORDER BY s "
                    f"SETTINGS disk = disk(type = local, path = '{self.dir.name}/disk/')",
                    f"ATTACH TABLE default.at FROM '{self.dir.name}/x' (s String) ENGINE = MergeTree ORDER BY s",
                    f"SELECT 1 INTO OUTFILE '{out}'",
                    f"INSERT INTO default.hr FROM INFILE '{secret}' FORMAT LineAsString",
                    f"SELECT 1 SETTINGS format_schema = '{secret}'",
                    "SET dialect = 'kusto'"]:
            st, res, data = self.req(sql.encode())
            self.assertIn(st, (403, 500), (sql, data))
            self.assertIn(res.getheader("X-ClickHouse-Exception-Code"), ("497", "358"), (sql, data))
            self.assertNotIn(b"do not read me", data)
        st, _, data = self.req(b"SELECT 1", dialect="prql")
        self.assertEqual(st, 403, data)
        self.assertFalse(os.path.exists(out))
        # What tongxin and analysts do still works.
        self.assertEqual(self.req(b"INSERT INTO default.hr VALUES ('a'), (concat('b', 'c'))")[0], 200)
        self.assertEqual(self.req(b"SELECT count() FROM default.hr WHERE s IN ('a', 'bc')")[2], b"2\n")
        self.assertEqual(self.req(b"SELECT sum(number) FROM numbers(10)")[2], b"45\n")

    def test_bodies_bounded(self):
        # Far larger than the sockets' buffers: the client is still sending
        # when the refusal comes, and must still be able to read it.
        big = b"SELECT 1 -- " + b"x" * (32 * self.MAX_BODY)
        st, res, data = self.req(big)
        self.assertEqual((st, res.getheader("X-ClickHouse-Exception-Code")), (413, "229"), data[:200])
        # Refused on the declared sizes, before the body arrives.
        auth = base64.b64encode(f"default:{self.token}".encode())
        for framing in (b"Content-Length: %d\r\n\r\n" % (self.MAX_BODY + 1),
                        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % (self.MAX_BODY + 1)):
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Basic %s\r\n%s"
                             % (self.port, auth, framing))
                first = sock.makefile("rb").readline()
            self.assertTrue(first.startswith(b"HTTP/1.1 413 "), (framing, first))
        bomb = b"SELECT 1 -- " + b"\0" * (self.MAX_DECOMPRESSED + 1)
        for enc, packed in (("gzip", gzip.compress(bomb)), ("deflate", zlib.compress(bomb)),
                            ("xz", lzma.compress(bomb)), ("bz2", bz2.compress(bomb))):
            self.assertLess(len(packed), self.MAX_BODY)
            st, res, data = self.req(packed, headers={"Content-Encoding": enc})
            self.assertEqual((st, res.getheader("X-ClickHouse-Exception-Code")), (413, "229"), (enc, data[:200]))
        if chhttp._zstd is not None:
            st, _, data = self.req(chhttp._zstd.ZstdCompressor().compress(bomb), headers={"Content-Encoding": "zstd"})
            self.assertEqual(st, 413, data[:200])
        if chhttp._lz4frame is not None:
            st, _, data = self.req(chhttp._lz4frame.compress(bomb), headers={"Content-Encoding": "lz4"})
            self.assertEqual(st, 413, data[:200])
        if chhttp._cityhash128 is not None:
            st, _, data = self.req(chhttp.native_compress(bomb, "ZSTD", 1), decompress="1")
            self.assertEqual(st, 413, data[:200])
        self.assertEqual(self.req(gzip.compress(b"SELECT 7"), headers={"Content-Encoding": "gzip"})[2], b"7\n")

    def test_long_urls_up_to_http_max_uri_size(self):
        # Query parameters travel in the URL: 20,000 ids (~700 KB encoded,
        # past the standard library's 64 KiB) arrive whole, quotes and all.
        ids = [f"@9VwKzu{i:06d}'\\x" for i in range(20000)]
        param = "[" + ",".join("'" + i.replace("\\", "\\\\").replace("'", "\\'") + "'" for i in ids) + "]"
        self.assertGreater(len(urllib.parse.quote(param)), 64 << 10)
        st, _, data = self.req(b"SELECT length({ids:Array(String)}), {ids:Array(String)}[20000]", param_ids=param)
        self.assertEqual((st, data), (200, b"20000\t" + ids[-1].replace("\\", "\\\\").replace("'", "\\'").encode()
                                      + b"\n"), data[:200])
        # Past ClickHouse's http_max_uri_size (1 MiB): refused, named.
        st, _, data = self.req(b"SELECT 1", param_x="y" * (1 << 20))
        self.assertEqual(st, 414, data[:200])
        self.assertIn(b"http_max_uri_size", data)
        self.assertEqual(self.req(b"SELECT 3")[2], b"3\n")  # still serving

    def test_insert_dedup_and_restart(self):
        self.req(b"CREATE DATABASE IF NOT EXISTS pyt")
        self.assertEqual(self.req(b"CREATE TABLE d (a UInt32, s String) ENGINE = MergeTree ORDER BY a "
                                  b"SETTINGS non_replicated_deduplication_window = 100", database="pyt")[0], 200)
        rows = b'{"a":1,"s":"x"}\n{"a":2,"s":"y"}\n'
        for body in (rows, rows, b'{"a":3,"s":"z"}\n'):  # the same token: only the first counts
            st, _, data = self.req(body, database="pyt", query="INSERT INTO d FORMAT JSONEachRow",
                                   insert_deduplication_token="tok")
            self.assertEqual(st, 200, data)
        self.assertEqual(self.req(b"SELECT count() FROM d", database="pyt")[2], b"2\n")
        self.req(gzip.compress(b"INSERT INTO d VALUES (4, 'w')"), database="pyt", headers={"Content-Encoding": "gzip"})
        self.req(b"1\tv\n", database="pyt", query="INSERT INTO d FORMAT TSV", headers={"Transfer-Encoding": "chunked"})
        self.assertEqual(self.req(b"SELECT sum(a), count() FROM d", database="pyt")[2], b"8\t4\n")
        type(self).stop()
        type(self).start()
        self.assertEqual(self.req(b"SELECT sum(a), count() FROM d", database="pyt")[2], b"8\t4\n")


class EngineCallsTest(unittest.TestCase):
    """What one request costs the engine: a writer's repeated INSERT makes no
    engine call besides the insert itself (no USE, EXPLAIN AST, SET or reset),
    and everything that skipping them could break still holds."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.eng = chhttp.Engine(os.path.join(cls.dir.name, "data"))
        cls.calls = []
        query = cls.eng._query

        def counted(sql, fmt="TabSeparated", params=None):
            cls.calls.append(sql)
            return query(sql, fmt, params)
        cls.eng._query = counted

    @classmethod
    def tearDownClass(cls):
        cls.eng.close()
        cls.dir.cleanup()

    def run_sql(self, text: bytes, database="default", **settings):
        return self.eng.run(chhttp.analyze(text), database, settings, {}, "TabSeparated", 0, None)

    def test_repeated_insert_makes_no_other_engine_call(self):
        self.run_sql(b"CREATE DATABASE IF NOT EXISTS ec")
        self.run_sql(b"CREATE TABLE t (a UInt32) ENGINE = MergeTree ORDER BY a "
                     b"SETTINGS non_replicated_deduplication_window = 100", "ec")
        self.run_sql(b"INSERT INTO t FORMAT TSV\n1\n", "ec", insert_deduplication_token="one")
        del self.calls[:]
        self.run_sql(b"INSERT INTO t FORMAT TSV\n2\n", "ec", insert_deduplication_token="two")
        self.run_sql(b"INSERT INTO t FORMAT TSV\n2\n", "ec", insert_deduplication_token="two")  # a retry
        self.assertEqual(self.calls, [], "engine calls besides the inserts")
        # The token, given in the INSERT's SETTINGS clause, still deduplicates,
        # and no setting stays behind for the next request.
        self.assertEqual(self.run_sql(b"SELECT sum(a), count() FROM t", "ec").body, b"3\t2\n")
        self.assertEqual(self.run_sql(b"SELECT getSetting('insert_deduplication_token')", "ec").body, b"\n")

    def test_database_changes_are_seen(self):
        self.run_sql(b"CREATE DATABASE IF NOT EXISTS ec2")
        self.run_sql(b"CREATE TABLE u (a UInt8) ENGINE = Memory", "ec2")
        self.run_sql(b"INSERT INTO u FORMAT TSV\n7\n", "ec2")
        self.assertEqual(self.run_sql(b"SELECT currentDatabase()", "default").body, b"default\n")
        self.assertEqual(self.run_sql(b"SELECT currentDatabase(), sum(a) FROM u", "ec2").body, b"ec2\t7\n")
        # A USE statement moves the engine's database: the next request still
        # runs in its own.
        self.run_sql(b"USE default", "ec2")
        self.assertEqual(self.run_sql(b"SELECT sum(a) FROM u", "ec2").body, b"7\n")
        # The database dropped and made again under the same name.
        self.run_sql(b"DROP DATABASE ec2", "ec2")
        with self.assertRaises(chhttp.CHError) as err:
            self.run_sql(b"SELECT 1 FROM u", "ec2")
        self.assertEqual(err.exception.code, 81)  # UNKNOWN_DATABASE, named by USE as before
        self.run_sql(b"CREATE DATABASE ec2")
        self.run_sql(b"CREATE TABLE u (a UInt8) ENGINE = Memory", "ec2")
        self.assertEqual(self.run_sql(b"SELECT count() FROM u", "ec2").body, b"0\n")

    def test_insert_settings_errors_and_own_settings_clause(self):
        self.run_sql(b"CREATE DATABASE IF NOT EXISTS ec3")
        self.run_sql(b"CREATE TABLE v (a UInt8) ENGINE = Memory", "ec3")
        with self.assertRaises(chhttp.CHError):
            self.run_sql(b"INSERT INTO v FORMAT TSV\n1\n", "ec3", max_threads="many")
        # An INSERT with its own SETTINGS clause takes the request's by SET.
        self.run_sql(b"INSERT INTO v SETTINGS max_threads = 1 FORMAT TSV\n2\n", "ec3", max_insert_threads="1")
        self.assertEqual(self.run_sql(b"SELECT sum(a) FROM v", "ec3").body, b"2\n")
        self.assertNotEqual(self.run_sql(b"SELECT getSetting('max_insert_threads')", "ec3").body, b"1\n")

    def test_guard_still_refuses_after_an_allowed_statement(self):
        self.run_sql(b"SELECT 1")
        with self.assertRaises(chhttp.CHError):
            self.run_sql(b"SELECT * FROM file('/etc/passwd')")
        with self.assertRaises(chhttp.CHError):  # and again: refusals are not remembered as passes
            self.run_sql(b"SELECT * FROM file('/etc/passwd')")


if __name__ == "__main__":
    unittest.main()
