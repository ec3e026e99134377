#!/usr/bin/env python3
"""chhttp — ClickHouse's HTTP interface in front of chDB (the ClickHouse engine
in-process), for tongxin's tests and local stack.

    chhttp.py serve --port N --data DIR --token-file FILE [--log FILE] [--pidfile FILE]
    chhttp.py check --url http://127.0.0.1:N --token-file FILE   # exit 0 when it answers

It speaks what github.com/ClickHouse/clickhouse-go/v2 (Protocol: HTTP) and an
analyst with curl send to a ClickHouse server:

  * GET/HEAD /ping (and GET / without a query) -> "Ok.\\n".
  * The query in the `query` URL parameter and/or the POST body (the parameter
    then the body, joined by a newline, as ClickHouse does); `database`,
    `default_format` (TabSeparated when absent), `query_id`, `session_id`,
    `param_<name>` query parameters, `client_protocol_version` (Native output
    then carries BlockInfo and the per-column serialization flag, which is
    what clickhouse-go decodes), `compress`/`decompress` (ClickHouse's native
    LZ4/ZSTD block framing), Content-Encoding gzip/deflate/br/zstd/xz/bz2/lz4
    on request bodies, Accept-Encoding when `enable_http_compression=1`.
  * Only for the developer who started it: every request but GET /ping must
    carry the token of this start (--token-file; engine.sh makes a fresh one
    per start and prints it in the DSN) as the password of Basic auth (what
    clickhouse-go sends over plain HTTP), X-ClickHouse-Key or `password`;
    the user name is not checked. A request a browser sends (Origin or
    Sec-Fetch-* headers) is refused, there are no CORS headers, and the Host
    must be this loopback address and port (no DNS rebinding).
  * Statements that reach the host's files or network are refused, by name in
    the statement's parsed AST (EXPLAIN AST): table functions such as file(),
    url(), s3(), remote(), mysql(), executable(), the scalar file(), table and
    database engines such as File, URL, Filesystem, Distributed, dictionary
    sources, INTO OUTFILE and FROM INFILE, and functions in VALUES data.
  * Request bodies are bounded (--max-body) and so is what they decompress to
    (--max-decompressed), for Content-Encoding and native compression alike.
  * Every other URL parameter is a ClickHouse setting applied to that query
    only (SET before, reset after), e.g. insert_deduplication_token.
  * INSERT ... FORMAT <fmt> / VALUES with the data after the statement is
    streamed into chDB's streaming inserter (Native batches of clickhouse-go
    included); INSERT ... SELECT and everything else runs as a query.
  * Errors answer with ClickHouse's HTTP status for the code, the header
    X-ClickHouse-Exception-Code and the body "Code: N. DB::Exception: ...".
  * One chDB session on DIR (persistent: a restart keeps databases and
    tables); engine calls are serialized by one lock; one log line per request.

Only the standard library is needed besides chdb; lz4, zstandard,
clickhouse-cityhash and brotli are used when installed (native compression,
Content-Encoding br).
"""

from __future__ import annotations

import argparse
import base64
import bz2
import collections
import hmac
import io
import datetime
import gzip
import json
import lzma
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import lz4.block as _lz4block
    import lz4.frame as _lz4frame
except ImportError:  # pragma: no cover - optional
    _lz4block = _lz4frame = None
try:
    import zstandard as _zstd
except ImportError:  # pragma: no cover - optional
    _zstd = None
try:
    from clickhouse_cityhash.cityhash import CityHash128 as _cityhash128
except ImportError:  # pragma: no cover - optional
    _cityhash128 = None
try:
    import brotli as _brotli
except ImportError:  # pragma: no cover - optional
    _brotli = None

# --------------------------------------------------------------------------
# Errors

# ClickHouse error codes this server raises itself (the numbers are ClickHouse's).
UNSUPPORTED_METHOD = 1
BAD_ARGUMENTS = 36
CHECKSUM_DOESNT_MATCH = 40
NOT_IMPLEMENTED = 48
SYNTAX_ERROR = 62
UNKNOWN_FORMAT = 73
UNKNOWN_DATABASE = 81
UNKNOWN_COMPRESSION_METHOD = 89
UNKNOWN_SETTING = 115
READONLY = 164
REQUIRED_PASSWORD = 194
AUTHENTICATION_FAILED = 516
ACCESS_DENIED = 497
QUERY_IS_TOO_LARGE = 229
INTO_OUTFILE_NOT_ALLOWED = 358
CANNOT_DECOMPRESS = 271
SESSION_NOT_FOUND = 372
HTTP_LENGTH_REQUIRED = 381
UNKNOWN_EXCEPTION = 1002

# exceptionCodeToHTTPStatus.cpp of ClickHouse, by error name.
_STATUS_BY_NAME = {
    401: ["REQUIRED_PASSWORD"],
    403: ["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"],
    400: ["BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
          "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
          "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
          "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
          "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
          "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
          "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"],
    404: ["UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
          "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
          "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"],
    413: ["QUERY_IS_TOO_LARGE"],
    501: ["NOT_IMPLEMENTED"],
    503: ["SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"],
    411: ["HTTP_LENGTH_REQUIRED"],
    408: ["TIMEOUT_EXCEEDED"],
    415: ["UNSUPPORTED_MEDIA_TYPE"],
}

_CODE_RE = re.compile(r"Code: (\d+)\. ")


class CHError(Exception):
    """A ClickHouse exception: code and the full "Code: N. DB::Exception: ..." text."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code
        self.text = text

    @classmethod
    def make(cls, code: int, message: str, name: str = "") -> "CHError":
        suffix = f" ({name})" if name else ""
        return cls(code, f"Code: {code}. DB::Exception: {message}.{suffix}")

    @classmethod
    def from_engine(cls, exc: BaseException) -> "CHError":
        text = str(exc)
        m = _CODE_RE.search(text)
        if not m:
            return cls.make(UNKNOWN_EXCEPTION, text.strip() or type(exc).__name__, "UNKNOWN_EXCEPTION")
        # chDB's wrappers prefix some messages ("Streaming insert finish failed: ").
        return cls(int(m.group(1)), text[m.start():].strip())


# --------------------------------------------------------------------------
# Query text: just enough of ClickHouse's lexer to find the statement kind,
# the FORMAT clause, where INSERT data begins, and a second statement.

_IDENT_START = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | set(b"0123456789$")
_NUM_CHARS = set(b"0123456789.xXabcdefABCDEF_eEpP+-")
_SPACE = set(b" \t\n\r\f\v")


def _skip_space(b: bytes, i: int) -> int:
    n = len(b)
    while i < n:
        c = b[i]
        if c in _SPACE:
            i += 1
        elif c == 0x2D and b[i + 1:i + 2] == b"-" or c == 0x23 and b[i + 1:i + 2] in (b" ", b"!"):
            j = b.find(b"\n", i)
            i = n if j < 0 else j + 1
        elif c == 0x2F and b[i + 1:i + 2] == b"*":
            depth, i = 1, i + 2
            while i < n and depth:
                if b[i:i + 2] == b"/*":
                    depth, i = depth + 1, i + 2
                elif b[i:i + 2] == b"*/":
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    return i


def _quoted_end(b: bytes, i: int) -> int:
    """End (exclusive) of the quoted token starting at b[i]."""
    q, n, i = b[i], len(b), i + 1
    while i < n:
        c = b[i]
        if c == 0x5C:  # backslash escape
            i += 2
        elif c == q:
            if b[i + 1:i + 2] == bytes([q]):  # doubled quote
                i += 2
            else:
                return i + 1
        else:
            i += 1
    raise CHError.make(SYNTAX_ERROR, "Syntax error: unterminated quoted token", "SYNTAX_ERROR")


def _tokens(b: bytes, i: int = 0):
    """Yield (kind, start, end): word, number, str, ident, open, close, semi, op."""
    n = len(b)
    while True:
        i = _skip_space(b, i)
        if i >= n:
            return
        c, s = b[i], i
        if c in _IDENT_START or c >= 0x80:
            while i < n and (b[i] in _IDENT_CHARS or b[i] >= 0x80):
                i += 1
            yield "word", s, i
        elif 0x30 <= c <= 0x39:
            while i < n and b[i] in _NUM_CHARS:
                i += 1
            yield "number", s, i
        elif c == 0x27:
            i = _quoted_end(b, i)
            yield "str", s, i
        elif c in (0x22, 0x60):
            i = _quoted_end(b, i)
            yield "ident", s, i
        elif c in b"([{":
            i += 1
            yield "open", s, i
        elif c in b")]}":
            i += 1
            yield "close", s, i
        elif c == 0x3B:
            i += 1
            yield "semi", s, i
        else:
            i += 1
            yield "op", s, i


def _unquote_ident(tok: bytes) -> str:
    if tok[:1] in (b"`", b'"'):
        q = tok[:1]
        inner = tok[1:-1].replace(q + q, q)
        return re.sub(rb"\\(.)", rb"\1", inner).decode("utf-8", "replace")
    return tok.decode("utf-8", "replace")


class Statement:
    """What the server needs to know about one request's query text."""

    def __init__(self):
        self.kind = ""            # first keyword, upper case ("SELECT", "INSERT", ...)
        self.sql = b""            # the statement (for INSERT with data: without FORMAT/VALUES)
        self.out_format = None    # FORMAT clause of a non-INSERT statement
        self.format_span = None   # (start, end) of that clause in sql
        self.in_format = None     # INSERT data format ("Values" for VALUES)
        self.data = b""           # INSERT data that followed the statement
        self.set_names = []       # SET a = ..., b = ...
        self.use_db = None        # USE db


def analyze(text: bytes) -> Statement:
    st = Statement()
    top = []  # tokens at parenthesis depth 0
    depth, end = 0, len(text)
    is_insert = None
    for tok in _tokens(text):
        kind, s, e = tok
        if is_insert is None:  # the first token
            if not (kind == "open" or kind == "word" and text[s:e].isalpha() and text[s:e].isascii()):
                # chDB answers an empty result to a statement it cannot even tokenize.
                raise CHError.make(SYNTAX_ERROR, f"Syntax error: failed at position {s + 1}: "
                                   f"{text[s:s + 40].decode('utf-8', 'replace')}. Expected a query", "SYNTAX_ERROR")
            st.kind = "SELECT" if kind == "open" else text[s:e].decode().upper()
            is_insert = st.kind == "INSERT"
        if kind == "open":
            depth += 1
            continue
        if kind == "close":
            depth = max(0, depth - 1)
            continue
        if depth:
            continue
        if kind == "semi":
            rest = _skip_space(text, e)
            while text[rest:rest + 1] == b";":
                rest = _skip_space(text, rest + 1)
            if rest < len(text):
                raise CHError.make(SYNTAX_ERROR, "Syntax error (Multi-statements are not allowed): failed at "
                                   f"position {s + 1} (end of query)", "SYNTAX_ERROR")
            end = s
            break
        top.append(tok)
        if is_insert and kind == "word":
            w = text[s:e].upper()
            if w == b"FORMAT":
                name = next(_tokens(text, e), None)
                if name is None or name[0] not in ("word", "ident"):
                    raise CHError.make(SYNTAX_ERROR, "Syntax error: format name expected after FORMAT",
                                       "SYNTAX_ERROR")
                st.in_format = _unquote_ident(text[name[1]:name[2]])
                st.sql = text[:s].rstrip()
                # Data starts after the first newline, if there is one, or after the blanks otherwise.
                i = name[2]
                while i < len(text) and text[i] in b" \t\f\r":
                    i += 1
                if text[i:i + 1] == b";":
                    raise CHError.make(SYNTAX_ERROR, "You have excessive ';' symbol before data for INSERT",
                                       "SYNTAX_ERROR")
                if text[i:i + 1] == b"\n":
                    i += 1
                st.data = text[i:]
                return st
            if w == b"VALUES":
                st.in_format = "Values"
                st.sql = text[:s].rstrip()
                st.data = text[e:]
                return st
            if w in (b"SELECT", b"WITH"):
                is_insert = False  # INSERT ... SELECT: an ordinary statement
    if is_insert is None:
        raise CHError.make(SYNTAX_ERROR, "Empty query", "SYNTAX_ERROR")
    st.sql = text[:end].rstrip()
    if st.kind != "INSERT":
        # FORMAT <name> at the top level, followed by nothing or by SETTINGS.
        for i, (kind, s, e) in enumerate(top):
            if kind == "word" and text[s:e].upper() == b"FORMAT" and i + 1 < len(top) and \
                    top[i + 1][0] in ("word", "ident") and (
                    i + 2 == len(top) or text[top[i + 2][1]:top[i + 2][2]].upper() == b"SETTINGS"):
                st.out_format = _unquote_ident(text[top[i + 1][1]:top[i + 1][2]])
                st.format_span = (s, top[i + 1][2])
    if st.kind == "SET":
        st.set_names = _set_names(st.sql)
    elif st.kind == "USE":
        toks = list(_tokens(st.sql))
        if len(toks) != 2 or toks[1][0] not in ("word", "ident"):
            raise CHError.make(SYNTAX_ERROR, "Syntax error: USE expects one database name", "SYNTAX_ERROR")
        st.use_db = _unquote_ident(st.sql[toks[1][1]:toks[1][2]])
    return st


def _set_names(sql: bytes) -> list:
    names, depth, last = [], 0, None
    toks = list(_tokens(sql))
    for idx, (kind, s, e) in enumerate(toks[1:], 1):
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif depth == 0 and kind == "op" and sql[s:e] == b"=" and last is not None:
            pk, ps, pe = toks[idx - 1]
            before = toks[idx - 2] if idx >= 2 else None
            if pk in ("word", "ident") and before is not None and (
                    before is toks[0] or (before[0] == "op" and sql[before[1]:before[2]] == b",")):
                names.append(_unquote_ident(sql[ps:pe]))
        last = (kind, s, e)
    return names


def quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def settings_list(assignments: dict) -> str:
    """name = 'value', ... as SET and a SETTINGS clause take them."""
    return ", ".join(f"{k} = {quote_str(v)}" for k, v in assignments.items())


_SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# --------------------------------------------------------------------------
# Native format: chDB writes it for client protocol version 0 (no BlockInfo, no
# per-column serialization flag); clickhouse-go asks for its protocol version
# and decodes those. Walking the columns tells where each column's data ends.

_FIXED = {
    "UInt8": 1, "UInt16": 2, "UInt32": 4, "UInt64": 8, "UInt128": 16, "UInt256": 32,
    "Int8": 1, "Int16": 2, "Int32": 4, "Int64": 8, "Int128": 16, "Int256": 32,
    "Float32": 4, "Float64": 8, "BFloat16": 2, "Bool": 1, "Date": 2, "Date32": 4,
    "DateTime": 4, "DateTime64": 8, "UUID": 16, "IPv4": 4, "IPv6": 16, "Enum8": 1, "Enum16": 2,
    "Time": 4, "Time64": 8, "Nothing": 1, "Decimal32": 4, "Decimal64": 8, "Decimal128": 16,
    "Decimal256": 32, "Point": 16,
}
_ALIASES = {
    "Ring": "Array(Point)", "LineString": "Array(Point)", "MultiLineString": "Array(Array(Point))",
    "Polygon": "Array(Array(Point))", "MultiPolygon": "Array(Array(Array(Point)))",
}
_NAMED_ARG_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*|`(?:[^`\\]|\\.)*`)\s+(\S.*)$", re.S)


class Unsupported(Exception):
    pass


def _split_args(s: str) -> list:
    args, depth, cur, i, q = [], 0, [], 0, None
    while i < len(s):
        c = s[i]
        if q:
            cur.append(c)
            if c == "\\":
                cur.append(s[i + 1:i + 2])
                i += 1
            elif c == q:
                q = None
        elif c in "'`\"":
            q = c
            cur.append(c)
        elif c == "(":
            depth += 1
            cur.append(c)
        elif c == ")":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur or args:
        args.append("".join(cur).strip())
    return args


_type_cache: dict = {}


def parse_type(t: str):
    node = _type_cache.get(t)
    if node is None:
        node = _parse_type(t.strip())
        _type_cache[t] = node
    return node


def _parse_type(t: str):
    p = t.find("(")
    name, inner = (t, "") if p < 0 else (t[:p].strip(), t[p + 1:t.rindex(")")])
    if name in _ALIASES:
        return _parse_type(_ALIASES[name])
    if name in _FIXED:
        return ("fixed", _FIXED[name])
    if name.startswith("Interval"):
        return ("fixed", 8)
    if name == "Decimal":
        precision = int(_split_args(inner)[0])
        return ("fixed", 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32)
    if name == "FixedString":
        return ("fixed", int(inner))
    if name == "String":
        return ("string",)
    if name == "Nullable":
        return ("nullable", _parse_type(inner))
    if name == "Array":
        return ("array", _parse_type(inner))
    if name == "LowCardinality":
        keys = _parse_type(inner)
        return ("lc", keys[1] if keys[0] == "nullable" else keys)
    if name in ("Tuple", "Nested", "Variant"):
        elems = []
        for a in _split_args(inner):
            m = _NAMED_ARG_RE.match(a) if name != "Variant" else None
            if m and "(" not in m.group(1) and not m.group(2).startswith("("):
                a = m.group(2)
            elems.append(_parse_type(a))
        if name == "Nested":
            return ("array", ("tuple", elems))
        return ("tuple" if name == "Tuple" else "variant", elems)
    if name == "Map":
        k, v = _split_args(inner)
        return ("array", ("tuple", [_parse_type(k), _parse_type(v)]))
    if name in ("JSON", "Object") and (name == "JSON" or "json" in inner.lower()):
        return ("json",)
    if name == "SimpleAggregateFunction":
        return _parse_type(_split_args(inner)[1])
    raise Unsupported(t)


def _u64(b, p):
    return int.from_bytes(b[p:p + 8], "little")


def _uvarint(b, p):
    x = s = 0
    while True:
        c = b[p]
        p += 1
        x |= (c & 0x7F) << s
        if c < 0x80:
            return x, p
        s += 7


def _put_uvarint(x: int) -> bytes:
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def _skip_prefix(node, b, p):
    k = node[0]
    if k == "lc":
        return p + 8
    if k in ("nullable", "array"):
        return _skip_prefix(node[1], b, p)
    if k == "tuple":
        for e in node[1]:
            p = _skip_prefix(e, b, p)
        return p
    if k == "json":
        if _u64(b, p) != 1:  # 1: the column serialized as String text
            raise Unsupported("JSON in object serialization; query it with the setting "
                              "output_format_native_write_json_as_string=1 or cast it to String")
        return p + 8
    if k == "variant":
        if _u64(b, p) != 0:
            raise Unsupported("Variant with compact discriminators")
        p += 8
        for e in node[1]:
            p = _skip_prefix(e, b, p)
        return p
    return p


def _skip_data(node, b, p, rows):
    k = node[0]
    if k == "fixed":
        return p + node[1] * rows
    if k == "string" or k == "json":
        for _ in range(rows):
            c = b[p]
            if c < 0x80:
                p += 1 + c
            else:
                ln, p = _uvarint(b, p)
                p += ln
        return p
    if k == "nullable":
        return _skip_data(node[1], b, p + rows, rows)
    if k == "array":
        if rows == 0:
            return p
        total = _u64(b, p + 8 * (rows - 1))
        p += 8 * rows
        return _skip_data(node[1], b, p, total) if total else p
    if k == "tuple":
        for e in node[1]:
            p = _skip_data(e, b, p, rows)
        return p
    if k == "lc":
        kind = _u64(b, p)
        p += 8
        if kind & (1 << 8) or not kind & (1 << 9):
            raise Unsupported("LowCardinality with a global dictionary")
        nkeys = _u64(b, p)
        p = _skip_data(node[1], b, p + 8, nkeys)
        nidx = _u64(b, p)
        return p + 8 + nidx * (1 << (kind & 0xFF))
    if k == "variant":
        discr = bytes(b[p:p + rows])
        p += rows
        for i, e in enumerate(node[1]):
            cnt = discr.count(i)
            if cnt:
                p = _skip_data(e, b, p, cnt)
        return p
    raise Unsupported(str(node))


_BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"
DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION = 54454


def native_for_revision(buf: bytes, revision: int) -> bytes:
    """Rewrite protocol-0 Native blocks for a client protocol revision > 0."""
    if revision <= 0 or not buf:
        return buf
    custom = revision >= DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION
    out, p, n = bytearray(), 0, len(buf)
    mv = memoryview(buf)
    while p < n:
        ncols, p = _uvarint(buf, p)
        nrows, p = _uvarint(buf, p)
        out += _BLOCK_INFO
        out += _put_uvarint(ncols)
        out += _put_uvarint(nrows)
        for _ in range(ncols):
            s = p
            ln, p = _uvarint(buf, p)
            p += ln
            ln, q = _uvarint(buf, p)
            tname = buf[q:q + ln].decode("utf-8")
            p = q + ln
            out += mv[s:p]
            if custom:
                out.append(0)
            if nrows:
                try:
                    node = parse_type(tname)
                    d = _skip_prefix(node, buf, p)
                    d = _skip_data(node, buf, d, nrows)
                except Unsupported as exc:
                    raise CHError.make(NOT_IMPLEMENTED, f"chhttp: type {tname} cannot be sent as Native to a client "
                                       f"with protocol version {revision} ({exc}); select another format or cast "
                                       "the column", "NOT_IMPLEMENTED")
                out += mv[p:d]
                p = d
        if p > n:
            raise CHError.make(UNKNOWN_EXCEPTION, "chhttp: malformed Native output from the engine", "UNKNOWN_EXCEPTION")
    return bytes(out)


def native_header(columns: list, revision: int) -> bytes:
    out = bytearray()
    if revision > 0:
        out += _BLOCK_INFO
    out += _put_uvarint(len(columns)) + _put_uvarint(0)
    for name, typ in columns:
        for s in (name.encode(), typ.encode()):
            out += _put_uvarint(len(s)) + s
        if revision >= DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION:
            out.append(0)
    return bytes(out)


# --------------------------------------------------------------------------
# ClickHouse native compression framing (compress=1 / decompress=1).

_NC_NONE, _NC_LZ4, _NC_ZSTD = 0x02, 0x82, 0x90


def _checksum(block: bytes) -> bytes:
    """CityHash128 (v1.0.2) as ClickHouse writes it: low 64 bits, then high, little endian."""
    h = _cityhash128(block)  # clickhouse-cityhash packs the pair as (first << 64) | second
    return (h >> 64).to_bytes(8, "little") + (h & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def native_decompress(data: bytes, verify: bool, limit: int = 1 << 30) -> bytes:
    out, p, n = bytearray(), 0, len(data)
    while p < n:
        if n - p < 25:
            raise CHError.make(CANNOT_DECOMPRESS, "Cannot decompress: truncated compressed block", "CANNOT_DECOMPRESS")
        method = data[p + 16]
        size, raw = struct.unpack_from("<II", data, p + 17)
        if len(out) + raw > limit:
            raise _too_large("decompressed request body", limit)
        block = data[p + 16:p + 16 + size]
        if len(block) != size:
            raise CHError.make(CANNOT_DECOMPRESS, "Cannot decompress: truncated compressed block", "CANNOT_DECOMPRESS")
        if verify and _cityhash128 is not None:
            if _checksum(block) != data[p:p + 16]:
                raise CHError.make(CHECKSUM_DOESNT_MATCH, "Checksum doesn't match: corrupted data", "CHECKSUM_DOESNT_MATCH")
        payload = block[9:]
        if method == _NC_NONE:
            out += payload
        elif method == _NC_LZ4 and _lz4block is not None:
            out += _lz4block.decompress(payload, uncompressed_size=raw)
        elif method == _NC_ZSTD and _zstd is not None:
            out += _zstd.ZstdDecompressor().decompress(payload, max_output_size=raw)
        else:
            raise CHError.make(UNKNOWN_COMPRESSION_METHOD, f"Unknown compression method: 0x{method:02x}",
                               "UNKNOWN_COMPRESSION_METHOD")
        p += 16 + size
    return bytes(out)


def native_compress(data: bytes, method: str, level: int) -> bytes:
    if _cityhash128 is None:
        raise CHError.make(NOT_IMPLEMENTED, "chhttp: compress=1 needs clickhouse-cityhash", "NOT_IMPLEMENTED")
    out = bytearray()
    for i in range(0, max(len(data), 1), 1 << 20):
        chunk = data[i:i + (1 << 20)]
        if method == "ZSTD" and _zstd is not None:
            code, comp = _NC_ZSTD, _zstd.ZstdCompressor(level=level or 1).compress(chunk)
        elif method in ("LZ4", "LZ4HC") and _lz4block is not None:
            code, comp = _NC_LZ4, _lz4block.compress(chunk, store_size=False)
        elif method == "NONE":
            code, comp = _NC_NONE, chunk
        else:
            raise CHError.make(UNKNOWN_COMPRESSION_METHOD, f"Unknown compression method: {method}",
                               "UNKNOWN_COMPRESSION_METHOD")
        block = bytes([code]) + struct.pack("<II", len(comp) + 9, len(chunk)) + comp
        out += _checksum(block) + block
        if not data:
            break
    return bytes(out)


def _too_large(what: str, limit: int) -> CHError:
    return CHError.make(QUERY_IS_TOO_LARGE, f"chhttp: the {what} is larger than {limit} bytes "
                        "(chhttp.py --max-body / --max-decompressed)", "QUERY_IS_TOO_LARGE")


def _inflate(data: bytes, make, limit: int) -> bytes:
    """Decompress the concatenated members of data with decompressors from
    make() (zlib, lzma, bz2 and lz4.frame objects: decompress(data, max_length),
    eof, unused_data), never holding more than limit bytes of output."""
    out = bytearray()
    while data:
        d, pending = make(), data
        while not d.eof:
            chunk = d.decompress(pending, limit + 1 - len(out))
            out += chunk
            if len(out) > limit:
                raise _too_large("decompressed request body", limit)
            if hasattr(d, "unconsumed_tail"):  # zlib keeps the input it did not use
                pending = d.unconsumed_tail
                if not pending and not chunk:
                    break
            else:  # lzma, bz2, lz4: more output without more input until needs_input
                pending = b""
                if d.needs_input:
                    break
        if not d.eof:
            raise ValueError("truncated compressed data")
        data = d.unused_data
    return bytes(out)


def _decode_one(data: bytes, enc: str, limit: int) -> bytes:
    if enc in ("gzip", "x-gzip"):
        return _inflate(data, lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), limit)
    if enc == "deflate":
        return _inflate(data, zlib.decompressobj, limit)
    if enc in ("xz", "lzma"):
        return _inflate(data, lzma.LZMADecompressor, limit)
    if enc in ("bz2", "bzip2"):
        return _inflate(data, bz2.BZ2Decompressor, limit)
    if enc == "br" and _brotli is not None:
        d, out = _brotli.Decompressor(), bytearray()
        chunk = d.process(data, output_buffer_limit=1 << 20)
        while True:
            out += chunk
            if len(out) > limit:
                raise _too_large("decompressed request body", limit)
            if d.is_finished() or d.can_accept_more_data():
                break
            chunk = d.process(b"", output_buffer_limit=1 << 20)
        if not d.is_finished():
            raise ValueError("truncated brotli data")
        return bytes(out)
    if enc in ("zstd", "zst") and _zstd is not None:
        with _zstd.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True) as r:
            out = r.read(limit + 1)
        if len(out) > limit:
            raise _too_large("decompressed request body", limit)
        return out
    if enc == "lz4" and _lz4frame is not None:
        return _inflate(data, _lz4frame.LZ4FrameDecompressor, limit)
    if enc in ("identity", "none"):
        return data
    raise CHError.make(UNKNOWN_COMPRESSION_METHOD, f"Unknown Content-Encoding: {enc}", "UNKNOWN_COMPRESSION_METHOD")


def decode_content(data: bytes, encoding: str, limit: int = 1 << 30) -> bytes:
    """The request body without its Content-Encoding(s), at most limit bytes."""
    for enc in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        try:
            data = _decode_one(data, enc, limit)
        except CHError:
            raise
        except Exception as exc:
            raise CHError.make(CANNOT_DECOMPRESS, f"Cannot decompress the request body ({enc}): {exc}",
                               "CANNOT_DECOMPRESS")
    return data


def encode_content(data: bytes, accept: str, level: int):
    offered = [a.split(";")[0].strip().lower() for a in accept.split(",")]
    for enc in offered:
        if enc in ("gzip", "x-gzip"):
            return "gzip", gzip.compress(data, compresslevel=level)
        if enc == "deflate":
            return "deflate", zlib.compress(data, level)
        if enc == "br" and _brotli is not None:
            return "br", _brotli.compress(data)
        if enc == "zstd" and _zstd is not None:
            return "zstd", _zstd.ZstdCompressor().compress(data)
        if enc == "xz":
            return "xz", lzma.compress(data)
    return None, data


# --------------------------------------------------------------------------
# What a statement may reach: the engine's own tables only. chDB (like
# clickhouse-local) lets file() read and write any file of the user and url()
# reach any host, and has no setting that turns them off (user_files_path,
# remote_url_allow_hosts and grants are server configuration it does not
# read), so every name the statement's parsed AST calls is checked: a regex
# on the text could be dodged by comments, quoting or case, the parser's own
# tree cannot.

# Table functions that touch only the engine's own data or compute their rows.
SAFE_TABLE_FUNCTIONS = {
    "numbers", "numbers_mt", "zeros", "zeros_mt", "values", "sqlstandardvalues", "generaterandom",
    "generateseries", "generate_series", "primes", "null", "input", "merge", "loop", "view", "viewifpermitted",
    "viewexplain", "format", "fuzzjson", "fuzzquery", "dictionary", "mergetreeindex", "mergetreeprojection",
    "mergetreeanalyzeindexes", "mergetreeanalyzeindexesuuid", "mergetreecodecblockcounts", "mergetreetextindex",
    "timeseriesdata", "timeseriesmetrics", "timeseriestags", "timeseriessamples", "timeseriesselector",
    "timeseriesmetricfamilies",
}
# Table and database engines that keep their data in the engine's data directory.
SAFE_ENGINES = {
    "mergetree", "replacingmergetree", "summingmergetree", "aggregatingmergetree", "collapsingmergetree",
    "versionedcollapsingmergetree", "graphitemergetree", "coalescingmergetree", "memory", "log", "tinylog",
    "stripelog", "null", "set", "join", "buffer", "view", "materializedview", "dictionary", "merge",
    "generaterandom", "embeddedrocksdb", "alias", "timeseries", "loop", "fuzzjson", "fuzzquery",
    "atomic", "ordinary", "lazy",
}
# Scalar functions that read the host's files; disk() makes a disk on any
# directory or endpoint.
HOST_FUNCTIONS = {"file", "disk"}
# Settings that make the engine read or write files (format schemas and
# templates, error logs), reach a host, or parse another language than the
# one checked here.
HOST_SETTINGS = {
    "dialect", "format_schema", "format_schema_source", "format_template_resultset", "format_template_row",
    "input_format_record_errors_file_path", "output_format_schema", "format_avro_schema_registry_url",
    "disk",  # a table's disk = disk(type = ..., path or endpoint = ...): not in the AST, so refused by name
}
_MAY_CALL_RE = re.compile(rb"[A-Za-z0-9_$`\"\x80-\xff]\s*\(|/\*|--|#")
_AST_CALL_RE = re.compile(r"^\s*(Function|FunctionWithKeyValueArguments)\s+(\S+)")


def _denied(what: str) -> CHError:
    return CHError.make(ACCESS_DENIED, f"chhttp: {what} reaches the host's files or network and is disabled on "
                        "the local engine", "ACCESS_DENIED")


def check_setting_names(names) -> None:
    """Refuse settings that would let a statement read files or dodge the AST check."""
    for n in names:
        if n.lower() in HOST_SETTINGS:
            raise _denied(f"setting {n}")


def check_calls(calls, denied: set) -> None:
    """calls: (kind, name) pairs; kind is the AST node ("Function", ...)."""
    for kind, name in calls:
        low = name.lower()
        if kind == "FunctionWithKeyValueArguments":
            raise _denied(f"dictionary source {name}")
        if low in denied:
            raise _denied(f"{name}()")


def ast_calls(ast: str) -> list:
    out = []
    for line in ast.splitlines():
        m = _AST_CALL_RE.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def text_calls(b: bytes) -> list:
    """Names called in ClickHouse text (a name, then an opening parenthesis):
    for VALUES data, whose expressions the engine evaluates but the AST of the
    INSERT does not hold. Also INTO OUTFILE / FROM INFILE, which the AST shows
    only as a bare literal."""
    out, prev, settings, in_settings = [], None, [], False
    for kind, s, e in _tokens(b):
        tok = b[s:e]
        if kind == "word" and tok.upper() == b"SETTINGS":
            in_settings = True
        elif in_settings and kind == "op" and tok == b"=" and prev is not None and prev[0] in ("word", "ident"):
            settings.append(_unquote_ident(b[prev[1]:prev[2]]))
        if kind == "open" and tok == b"(" and prev is not None and prev[0] in ("word", "ident"):
            out.append(("Function", _unquote_ident(b[prev[1]:prev[2]])))
        if kind == "str" and prev is not None and prev[0] == "word" and b[prev[1]:prev[2]].upper() == b"FROM" \
                and b[:6].upper() == b"ATTACH":
            raise _denied("ATTACH ... FROM a path")
        if kind == "word" and prev is not None and prev[0] == "word":
            pair = (b[prev[1]:prev[2]].upper(), tok.upper())
            if pair in ((b"INTO", b"OUTFILE"), (b"FROM", b"INFILE")):
                raise CHError.make(INTO_OUTFILE_NOT_ALLOWED, f"chhttp: {pair[0].decode()} {pair[1].decode()} "
                                   "reaches the host's files and is disabled on the local engine",
                                   "INTO_OUTFILE_NOT_ALLOWED")
        prev = (kind, s, e)
    check_setting_names(settings)
    return out


# --------------------------------------------------------------------------
# Engine: one chDB session, one lock.

# HTTP-interface parameters that are not settings.
HTTP_PARAMS = {
    "query", "database", "default_format", "query_id", "session_id", "session_timeout", "session_check",
    "close_session", "user", "password", "quota_key", "compress", "decompress", "buffer_size",
    "wait_end_of_query", "client_protocol_version", "role", "stacktrace", "with_stacktrace", "_",
    "default_session_timeout", "readonly",
}
NO_RESULT_KINDS = {"INSERT", "CREATE", "DROP", "ALTER", "RENAME", "TRUNCATE", "ATTACH", "DETACH", "OPTIMIZE",
                   "SYSTEM", "GRANT", "REVOKE", "KILL", "SET", "USE", "DELETE", "UPDATE", "UNDROP", "EXCHANGE",
                   "MOVE", "BACKUP", "RESTORE", "CHECK"}
READ_KINDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK"}
# Statements after which the engine's current database is still the one USE set.
KEEPS_DATABASE_KINDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "INSERT"}
_SETTINGS_RE = re.compile(rb"\bSETTINGS\b", re.IGNORECASE)
ENGINE_ONLY_FORMATS = {"dataframe", "arrowtable", "datastore", "debug"}


class Session:
    def __init__(self, sid: str, timeout: float):
        self.sid = sid
        self.database = None
        self.sets: list = []  # SET statements (sql text, names) replayed before each query
        self.timeout = timeout
        self.touched = time.monotonic()


class Result:
    def __init__(self):
        self.body = b""
        self.fmt = ""
        self.read_rows = self.read_bytes = self.written_rows = self.written_bytes = 0
        self.elapsed = 0.0


class Engine:
    def __init__(self, path: str):
        os.makedirs(path, exist_ok=True)
        from chdb import session as chsession  # imported here: `check` must not load the engine
        import chdb
        self._session = chsession.Session(path)
        self.conn = self._session._conn
        self.lock = threading.Lock()
        self.chdb_version = getattr(chdb, "__version__", "?")
        row = self._tsv("SELECT displayName(), version(), revision(), timezone()")[0]
        self.display_name, self.version, self.revision, self.timezone = row[0], row[1], int(row[2]), row[3]
        # chDB conveniences a ClickHouse server does not have: queries that pass
        # here must pass there.
        self._query("SET implicit_select = DEFAULT, allow_introspection_functions = DEFAULT")
        # Settings chDB itself starts with changed: reset to these, not to DEFAULT.
        self.baseline = {name: value for name, value in self._tsv(
            "SELECT name, value FROM system.settings WHERE changed")}
        self.status = {}
        names = {n for ns in _STATUS_BY_NAME.values() for n in ns}
        quoted = ",".join(quote_str(n) for n in names)
        for code, name in self._tsv(f"SELECT number, errorCodeToName(number) FROM numbers(2000) "
                                    f"WHERE errorCodeToName(number) IN ({quoted})"):
            for status, ns in _STATUS_BY_NAME.items():
                if name in ns:
                    self.status[int(code)] = status
        self.sessions: dict = {}
        names = self._tsv("SELECT lower(name) FROM system.table_functions UNION ALL "
                          "SELECT lower(name) FROM system.table_engines UNION ALL "
                          "SELECT lower(name) FROM system.database_engines")
        self.denied = {n for (n,) in names if n not in SAFE_TABLE_FUNCTIONS and n not in SAFE_ENGINES}
        self.denied |= HOST_FUNCTIONS
        # Statements whose AST passed the guard (same text and parameters,
        # same AST): a writer repeats the same INSERT for every batch, and
        # EXPLAIN AST is an engine call of its own.
        self.guarded: collections.OrderedDict = collections.OrderedDict()
        # The engine's current database after the last request, when known:
        # USE is an engine call of its own, skipped when it would change nothing.
        self.current_db = None

    def close(self):
        with self.lock:
            self._session.close()

    # -- raw engine calls (the caller holds self.lock, except in __init__) --

    def _query(self, sql: str, fmt: str = "TabSeparated", params=None):
        try:
            return self.conn.query(sql, fmt, params=params or {})
        except Exception as exc:
            raise CHError.from_engine(exc) from None

    def _tsv(self, sql: str, params=None) -> list:
        raw = bytes(self._query(sql, "TabSeparated", params).bytes()).decode()
        return [line.split("\t") for line in raw.split("\n") if line]

    def _set(self, assignments: dict):
        if assignments:
            self._query("SET " + settings_list(assignments))

    def _reset(self, names):
        names = [n for n in dict.fromkeys(names) if _SETTING_NAME_RE.match(n)]
        if not names:
            return
        parts = [f"{n} = {quote_str(self.baseline[n])}" if n in self.baseline else f"{n} = DEFAULT" for n in names]
        try:
            self._query("SET " + ", ".join(parts))
        except CHError:
            for part in parts:  # one by one, so one bad name does not keep the others set
                try:
                    self._query("SET " + part)
                except CHError:
                    pass

    def _reset_changed(self):
        try:
            rows = self._tsv("SELECT name, value FROM system.settings WHERE changed SETTINGS use_query_cache = 0")
        except CHError:
            return
        self._reset([n for n, v in rows if self.baseline.get(n) != v and n != "database"])

    # -- sessions --

    def session(self, sid: str, timeout: float, check: bool) -> Session:
        now = time.monotonic()
        for key, s in list(self.sessions.items()):
            if now - s.touched > s.timeout:
                del self.sessions[key]
        s = self.sessions.get(sid)
        if s is None:
            if check:
                raise CHError.make(SESSION_NOT_FOUND, f"Session {sid} not found", "SESSION_NOT_FOUND")
            s = self.sessions[sid] = Session(sid, timeout)
        s.timeout, s.touched = timeout, now
        return s

    # -- one request --

    def run(self, st: Statement, database: str, settings: dict, params: dict, out_format: str,
            revision: int, session: Session | None) -> Result:
        res = Result()
        # An INSERT with data takes the request's settings in its own SETTINGS
        # clause: nothing to SET before and reset after (two engine calls).
        inline = {} if session is not None or st.in_format is None or _SETTINGS_RE.search(st.sql) else settings
        set_names = [] if inline else list(settings)
        with self.lock:
            try:
                if database != self.current_db:
                    self.current_db = None
                    self._query("USE " + quote_ident(database))
                    self.current_db = database
                if session is not None:
                    for sql, names in session.sets:
                        self._query(sql)
                        set_names += names
                if not inline:
                    self._set(settings)
                self._execute(st, params, out_format, revision, session, res, inline)
            finally:
                if st.kind not in KEEPS_DATABASE_KINDS:
                    self.current_db = None  # USE, or what may drop or rename the database
                if st.kind == "SET" or st.kind == "USE":
                    set_names += st.set_names
                    self._reset(set_names)
                    self._reset_changed()
                else:
                    self._reset(set_names)
        return res

    def _guard(self, st: Statement, params):
        """Refuse a statement that reaches the host's files or network."""
        check_setting_names(st.set_names)
        text_calls(st.sql)  # INTO OUTFILE, FROM INFILE, SETTINGS; the calls come from the AST
        calls = []
        if st.in_format is not None:
            # VALUES data is only tokenized when it may call something: a name
            # (or a comment) before a parenthesis. Plain rows stay fast.
            if st.in_format.lower() == "values" and _MAY_CALL_RE.search(st.data):
                calls = text_calls(st.data)
            sql = st.sql + b" FORMAT " + quote_ident(st.in_format).encode()
        else:
            sql = st.sql
            if st.format_span:
                sql = sql[:st.format_span[0]] + sql[st.format_span[1]:]
        check_calls(calls, self.denied)
        if st.kind in ("SET", "USE"):
            return
        key = (sql, tuple(sorted(params.items())) if params else ())
        if key in self.guarded:
            self.guarded.move_to_end(key)
            return
        ast = bytes(self._query("EXPLAIN AST " + sql.decode("utf-8", "replace"), "TabSeparatedRaw",
                                params).bytes()).decode("utf-8", "replace")
        check_calls(ast_calls(ast), self.denied)
        self.guarded[key] = True
        if len(self.guarded) > 1024:
            self.guarded.popitem(last=False)

    def _execute(self, st: Statement, params, out_format, revision, session, res, settings=None):
        t0 = time.monotonic()
        self._guard(st, params)
        sql = st.sql.decode("utf-8", "replace")
        if st.in_format is not None:
            if settings:
                sql += " SETTINGS " + settings_list(settings)
            self._insert(sql, st.in_format, st.data, res)
        elif st.kind == "SET":
            if "readonly" in st.set_names:
                raise CHError.make(NOT_IMPLEMENTED, "chhttp: SET readonly is not supported; pass readonly as a URL "
                                   "parameter", "NOT_IMPLEMENTED")
            self._query(sql)  # validates; undone after the request
            if session is not None:
                session.sets.append((sql, st.set_names))
        elif st.kind == "USE":
            self._query(sql)  # validates
            if session is not None:
                session.database = st.use_db
        else:
            fmt = st.out_format or out_format
            if fmt.lower() in ENGINE_ONLY_FORMATS:
                raise CHError.make(UNKNOWN_FORMAT, f"Unknown output format {fmt}", "UNKNOWN_FORMAT")
            r = self._query(sql, fmt, params)
            res.body = bytes(r.bytes())
            res.fmt = fmt
            res.read_rows, res.read_bytes = r.rows_read(), r.bytes_read()
            if fmt == "Native":
                if not res.body and st.kind in ("SELECT", "WITH"):
                    res.body = self._native_header(st, params, revision)
                else:
                    res.body = native_for_revision(res.body, revision)
        res.elapsed = time.monotonic() - t0

    def _native_header(self, st: Statement, params, revision) -> bytes:
        """The header block ClickHouse sends for an empty Native result."""
        sql = st.sql
        if st.format_span:
            sql = sql[:st.format_span[0]] + sql[st.format_span[1]:]
        try:
            r = self._query(f"DESCRIBE TABLE (\n{sql.decode('utf-8', 'replace')}\n)", "JSONCompactEachRow", params)
            cols = [json.loads(line)[:2] for line in bytes(r.bytes()).decode().splitlines() if line.strip()]
        except (CHError, ValueError):
            return b""
        return native_header(cols, revision) if cols else b""

    def _insert(self, sql: str, fmt: str, data: bytes, res: Result):
        if fmt.lower() in ENGINE_ONLY_FORMATS:
            raise CHError.make(UNKNOWN_FORMAT, f"Unknown input format {fmt}", "UNKNOWN_FORMAT")
        try:
            ins = self.conn.send_insert(sql, fmt)
        except Exception as exc:
            raise CHError.from_engine(exc) from None
        try:
            step, view = 4 << 20, memoryview(data)  # slices of a view copy nothing
            for i in range(0, len(data), step):
                ins.append(view[i:i + step])
            r = ins.finish()
        except Exception as exc:
            try:
                ins.cancel()
            except Exception:
                pass
            raise CHError.from_engine(exc) from None
        res.written_rows, res.written_bytes = r.rows_written, r.bytes_written


# --------------------------------------------------------------------------
# HTTP

_CONTENT_TYPES = [
    ("tabseparated", "text/tab-separated-values; charset=UTF-8"), ("tsv", "text/tab-separated-values; charset=UTF-8"),
    ("csv", "text/csv; charset=UTF-8"), ("jsoneachrow", "application/x-ndjson; charset=UTF-8"),
    ("json", "application/json; charset=UTF-8"), ("xml", "application/xml; charset=UTF-8"),
    ("pretty", "text/plain; charset=UTF-8"), ("markdown", "text/markdown; charset=UTF-8"),
    ("values", "text/plain; charset=UTF-8"), ("vertical", "text/plain; charset=UTF-8"),
]


def content_type(fmt: str) -> str:
    low = fmt.lower()
    for prefix, ct in _CONTENT_TYPES:
        if low.startswith(prefix):
            return ct
    return "application/octet-stream" if fmt else "text/plain; charset=UTF-8"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chhttp"
    sys_version = ""
    timeout = 600

    engine: Engine  # set on the class by serve()
    logger = None
    token = b""  # this start's token; serve() refuses to start without one
    max_body = 256 << 20
    max_decompressed = 1 << 30

    # ClickHouse's http_max_uri_size: query parameters (param_<name>) travel
    # in the URL, e.g. the aggregator's thousands of post ids at once; the
    # standard library stops at 64 KiB.
    max_uri = 1 << 20

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    # How long a closing connection keeps reading what the client still sends
    # (nginx's lingering close). A refusal is answered before the body is
    # read; closing a socket with unread input resets it, and the client,
    # still sending, gets a broken pipe instead of the answer.
    linger_idle, linger_total = 1.0, 10.0

    def finish(self):
        super().finish()
        if self.close_connection:
            self._linger()

    def _linger(self):
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)  # the answer is complete: the client sees end of stream
            deadline = time.monotonic() + self.linger_total
            while True:
                wait = min(self.linger_idle, deadline - time.monotonic())
                if wait <= 0:
                    break
                sock.settimeout(wait)
                if not sock.recv(1 << 16):
                    break
        except OSError:
            pass  # the client is gone: nothing more to wait for

    def handle_one_request(self):
        """BaseHTTPRequestHandler's, with the request line bounded by max_uri."""
        try:
            self.raw_requestline = self.rfile.readline(self.max_uri + 1)
            if len(self.raw_requestline) > self.max_uri:
                self.requestline = self.request_version = self.command = ""
                self.close_connection = True
                self.send_error(414, f"URI longer than {self.max_uri} bytes (http_max_uri_size)")
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(501, f"Unsupported method ({self.command!r})")
                return
            method()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def do_HEAD(self):
        self._handle(head=True)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _read_body(self) -> bytes:
        limit = self.max_body
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    self.close_connection = True
                    raise CHError.make(BAD_ARGUMENTS, "chhttp: malformed chunked request body", "BAD_ARGUMENTS") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > limit:
                    self.close_connection = True  # the rest is not read
                    raise _too_large("request body", limit)
                parts.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0:
            self.close_connection = True
            raise CHError.make(BAD_ARGUMENTS, f"chhttp: Content-Length {length!r} is not a length", "BAD_ARGUMENTS")
        if n > limit:
            self.close_connection = True  # the body is not read
            raise _too_large("request body", limit)
        return self.rfile.read(n)

    def _send(self, status: int, body: bytes, headers: dict, head: bool = False):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Keep-Alive", "timeout=30")
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _handle(self, head: bool = False):
        t0 = time.monotonic()
        eng = self.engine
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        params = {}
        for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
            params[k] = v
        qid = params.get("query_id") or str(uuid.uuid4())
        headers = {"X-ClickHouse-Server-Display-Name": eng.display_name, "X-ClickHouse-Query-Id": qid,
                   "X-ClickHouse-Timezone": eng.timezone}
        status, body, body_in = 200, b"", 0
        self._sql = ""
        try:
            refusal = self._refusal(path, params)
            if refusal is not None:
                # Nothing of the request is read: the connection cannot be reused.
                self.close_connection = True
                status, code, message = refusal
                text = f"Code: {code}. DB::Exception: chhttp: {message}. (version {eng.version})\n".encode()
                self._send(status, text, {"Content-Type": "text/plain; charset=UTF-8",
                                          "X-ClickHouse-Exception-Code": str(code)}, head)
                self._log(f"{self.client_address[0]} {self.command} {path} {status} refused: {message}")
                return
            raw = self._read_body()  # whatever the method: the connection stays in step
            body_in = len(raw)
            if path in ("/ping", "/replicas_status") or (path == "/" and "query" not in params and not raw
                                                         and self.command in ("GET", "HEAD")):
                status, body = 200, b"Ok.\n"
                headers = {"Content-Type": "text/html; charset=UTF-8"}
            else:
                status, body = self._query(params, raw, headers, qid)
        except CHError as exc:
            status, body = self._error(exc, headers)
        except (ConnectionError, socket.timeout):
            self.close_connection = True
            return
        except Exception as exc:  # never let a request take the server down
            msg = f"chhttp: {type(exc).__name__}: {exc}"
            status, body = self._error(CHError.make(UNKNOWN_EXCEPTION, msg, "UNKNOWN_EXCEPTION"), headers)
            self.close_connection = True  # the request may not have been read whole
            self._log("internal error: " + traceback.format_exc().replace("\n", " | "))
        try:
            self._send(status, body, headers, head)
        except (ConnectionError, socket.timeout):
            self.close_connection = True
        self._log(f"{self.client_address[0]} {self.command} {path} {status} {(time.monotonic() - t0) * 1000:.1f}ms "
                  f"in={body_in} out={len(body)} qid={qid} {json.dumps(self._sql[:300], ensure_ascii=False)}")

    def _refusal(self, path: str, params: dict):
        """(status, code, message) when the request is not the developer's own; None otherwise."""
        h = self.headers
        # A browser says where a request comes from; curl, clickhouse-go and
        # urllib do not. No page, whatever its origin, may use this server.
        for name in ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest"):
            if h.get(name) is not None:
                return 403, ACCESS_DENIED, f"requests from a browser are refused ({name} header)"
        # DNS rebinding: a page's own name resolving to 127.0.0.1 still shows in Host.
        port = self.server.server_address[1]
        if h.get("Host", "").lower() not in {f"{a}:{port}" for a in ("127.0.0.1", "localhost", "[::1]")}:
            return 403, ACCESS_DENIED, f"Host must be 127.0.0.1:{port} or localhost:{port}"
        if path == "/ping" and self.command in ("GET", "HEAD"):
            return None
        given = None
        auth = h.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                given = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return 401, REQUIRED_PASSWORD, "malformed Basic authorization"
        if not given:
            given = h.get("X-ClickHouse-Key") or params.get("password") or ""
        if not given:
            return 401, REQUIRED_PASSWORD, ("a password is required: the token of this start, in the DSN "
                                            "`engines up` printed")
        if not hmac.compare_digest(given.encode(), self.token):
            return 403, AUTHENTICATION_FAILED, ("wrong password: not the token of this start (the engine makes "
                                                "a new one each time it starts; use the DSN `engines up` printed)")
        return None

    def _error(self, exc: CHError, headers: dict):
        headers.pop("X-ClickHouse-Format", None)
        headers.pop("Content-Encoding", None)
        headers["X-ClickHouse-Exception-Code"] = str(exc.code)
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        text = exc.text
        if "(version " not in text:
            text += f" (version {self.engine.version})"
        return self.engine.status.get(exc.code, 500), (text + "\n").encode()

    def _query(self, params: dict, raw: bytes, headers: dict, qid: str):
        eng = self.engine
        if self.headers.get("Content-Type", "").lower().startswith("multipart/form-data"):
            raise CHError.make(NOT_IMPLEMENTED, "chhttp: external tables (multipart/form-data) are not supported",
                               "NOT_IMPLEMENTED")
        enc = self.headers.get("Content-Encoding", "")
        if raw and enc:
            raw = decode_content(raw, enc, self.max_decompressed)
        if raw and params.get("decompress", "0") not in ("0", "false", ""):
            verify = params.get("http_native_compression_disable_checksumming_on_decompress", "0") in ("0", "false")
            raw = native_decompress(raw, verify, self.max_decompressed)
        q = params.get("query", "").encode()
        st = None
        if q and raw:
            # INSERT ... FORMAT <name> in the URL and the data in the body (how
            # clickhouse-go sends a batch): the body is the data as it is,
            # without copying it behind the query text.
            try:
                head = analyze(q)
            except CHError:
                head = None
            if head is not None and head.in_format not in (None, "Values") and not head.data:
                head.data = raw
                st = head
        if st is None:
            text = q + b"\n" + raw if q and raw else q or raw
            self._sql = text[:300].decode("utf-8", "replace")
            st = analyze(text)
        self._sql = st.sql[:300].decode("utf-8", "replace")

        settings = {k: v for k, v in params.items() if k not in HTTP_PARAMS and not k.startswith("param_")}
        for k in settings:
            if not _SETTING_NAME_RE.match(k):
                raise CHError.make(UNKNOWN_SETTING, f"Unknown setting '{k}'", "UNKNOWN_SETTING")
        check_setting_names(settings)
        readonly = params.get("readonly", "0") not in ("0", "", "false")
        if (readonly or self.command == "GET") and st.kind not in READ_KINDS and \
                not (self.command == "GET" and not readonly and st.kind in ("SET", "USE")):
            why = "method GET implies readonly. You should use method POST for modifying queries" \
                if self.command == "GET" else "readonly is set"
            raise CHError.make(READONLY, f"Cannot execute query in readonly mode. For queries over HTTP, {why}",
                               "READONLY")
        qparams = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}
        session = None
        if params.get("session_id"):
            try:
                timeout = float(params.get("session_timeout") or 60)
            except ValueError:
                raise CHError.make(BAD_ARGUMENTS, "session_timeout must be a number", "BAD_ARGUMENTS") from None
            with eng.lock:
                session = eng.session(params["session_id"], timeout, params.get("session_check") in ("1", "true"))
        database = params.get("database") or self.headers.get("X-ClickHouse-Database") or \
            (session.database if session else None) or "default"
        out_format = params.get("default_format") or self.headers.get("X-ClickHouse-Format") or "TabSeparated"
        try:
            revision = int(params.get("client_protocol_version") or 0)
        except ValueError:
            raise CHError.make(BAD_ARGUMENTS, "client_protocol_version must be an integer", "BAD_ARGUMENTS") from None

        res = eng.run(st, database, settings, qparams, out_format, revision, session)
        body = res.body
        if res.fmt:
            headers["X-ClickHouse-Format"] = res.fmt
            headers["Content-Type"] = content_type(res.fmt)
        else:
            headers["Content-Type"] = "text/plain; charset=UTF-8"
        headers["X-ClickHouse-Summary"] = json.dumps({
            "read_rows": str(res.read_rows), "read_bytes": str(res.read_bytes),
            "written_rows": str(res.written_rows), "written_bytes": str(res.written_bytes),
            "total_rows_to_read": str(res.read_rows), "result_rows": str(res.written_rows),
            "result_bytes": str(res.written_bytes), "elapsed_ns": str(int(res.elapsed * 1e9))},
            separators=(",", ":"))
        if session is not None:
            headers["Set-Cookie"] = f"session_id={session.sid}"
        if params.get("compress", "0") not in ("0", "false", "") and body:
            method = settings.get("network_compression_method", "LZ4").upper()
            level = int(settings.get("network_zstd_compression_level") or 1)  # SET validated it
            body = native_compress(body, method, level)
        elif settings.get("enable_http_compression", "0") in ("1", "true") and body:
            level = int(settings.get("http_zlib_compression_level") or 3)  # SET validated it
            name, body = encode_content(body, self.headers.get("Accept-Encoding", ""), level)
            if name:
                headers["Content-Encoding"] = name
        return 200, body

    def _log(self, line: str):
        if self.logger is not None:
            self.logger(line)


class Logger:
    """One line per call, to a file kept under about 64 MiB (one old file: FILE.1)."""

    MAX_BYTES = 64 << 20

    def __init__(self, path: str | None):
        self.lock = threading.Lock()
        self.path = path
        self.f = open(path, "a", buffering=1, encoding="utf-8") if path else sys.stderr
        self.lines = 0

    def __call__(self, line: str):
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        with self.lock:
            self.f.write(f"{stamp} {line}\n")
            self.f.flush()
            self.lines += 1
            if self.path and self.lines % 1000 == 0 and self.f.tell() > self.MAX_BYTES:
                self.f.close()
                os.replace(self.path, self.path + ".1")
                self.f = open(self.path, "a", buffering=1, encoding="utf-8")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def read_token(path: str) -> bytes:
    with open(path, "rb") as f:
        token = f.read().strip()
    if len(token) < 16:
        raise ValueError(f"the token in {path} is shorter than 16 characters")
    return token


def serve(args) -> int:
    log = Logger(args.log)
    try:
        Handler.token = read_token(args.token_file)
    except (OSError, ValueError) as exc:
        log(f"no token: {exc}")
        print(f"chhttp: no token: {exc}", file=sys.stderr)
        return 2
    Handler.max_body, Handler.max_decompressed = args.max_body, args.max_decompressed
    try:
        httpd = Server((args.host, args.port), Handler)
    except OSError as exc:
        log(f"cannot listen on {args.host}:{args.port}: {exc}")
        print(f"chhttp: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(tmp, args.pidfile)
    t0 = time.monotonic()
    try:
        engine = Engine(args.data)
    except Exception:
        log("cannot open the engine: " + traceback.format_exc())
        return 1
    Handler.engine = engine
    Handler.logger = log
    log(f"chhttp listening on http://{args.host}:{httpd.server_address[1]} (chdb {engine.chdb_version}, ClickHouse "
        f"{engine.version}, revision {engine.revision}, data {os.path.abspath(args.data)}, "
        f"engine opened in {time.monotonic() - t0:.2f}s)")

    def stop(signum, frame):
        log(f"signal {signum}: stopping")
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.owner_pid:
        def watch_owner():
            while True:
                time.sleep(2)
                try:
                    os.kill(args.owner_pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    pass  # alive, someone else's
            log(f"owner pid {args.owner_pid} is gone: stopping")
            httpd.shutdown()
        threading.Thread(target=watch_owner, daemon=True).start()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        engine.close()
        log("stopped")
    return 0


def check(args) -> int:
    """Exit 0 when the server at args.url answers /ping and a real query."""
    try:
        auth = {}
        if args.token_file:
            token = read_token(args.token_file).decode()
            auth = {"Authorization": "Basic " + base64.b64encode(f"default:{token}".encode()).decode()}
        with urllib.request.urlopen(args.url.rstrip("/") + "/ping", timeout=args.timeout) as r:
            if r.read() != b"Ok.\n":
                return 1
        if args.ping_only:
            return 0
        req = urllib.request.Request(args.url.rstrip("/") + "/", data=b"SELECT 1", method="POST", headers=auth)
        with urllib.request.urlopen(req, timeout=args.timeout) as r:
            return 0 if r.read() == b"1\n" else 1
    except (OSError, ValueError, urllib.error.URLError) as exc:
        if args.verbose:
            print(f"chhttp check: {exc}", file=sys.stderr)
        return 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve ClickHouse's HTTP interface")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--data", required=True, help="chDB data directory (persistent)")
    s.add_argument("--log", help="log file (default stderr)")
    s.add_argument("--pidfile")
    s.add_argument("--owner-pid", type=int, default=0, help="stop once this process is gone")
    s.add_argument("--token-file", required=True,
                   help="file holding this start's token, the password every request but /ping must give")
    s.add_argument("--max-body", type=int, default=256 << 20, help="largest request body, bytes (default 256 MiB)")
    s.add_argument("--max-decompressed", type=int, default=1 << 30,
                   help="largest request body once decompressed, bytes (default 1 GiB)")
    c = sub.add_parser("check", help="exit 0 when the server answers")
    c.add_argument("--url", required=True)
    c.add_argument("--timeout", type=float, default=5)
    c.add_argument("--verbose", action="store_true")
    c.add_argument("--token-file", help="the server's token (needed unless --ping-only)")
    c.add_argument("--ping-only", action="store_true", help="/ping only (answers while a query runs)")
    args = ap.parse_args(argv)
    return serve(args) if args.cmd == "serve" else check(args)


if __name__ == "__main__":
    sys.exit(main())
