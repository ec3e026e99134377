#!/usr/bin/env python3
"""Recomputes the signature known answers in sign_test.go from the documented
algorithms, independently of the Go code: python3 testdata/kat.py"""
import base64, hashlib, hmac, urllib.parse

def dingtalk(secret, ts_ms):
    # DingTalk 加签: HmacSHA256(key=secret, msg=timestamp+"\n"+secret), base64, urlEncode
    mac = hmac.new(secret.encode(), f"{ts_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()

def feishu(secret, ts_s):
    # Feishu 签名校验: HmacSHA256(key=timestamp+"\n"+secret, msg=empty), base64
    mac = hmac.new(f"{ts_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()

def webhook(secret, body):
    # GitHub-style: "sha256=" + hex(HmacSHA256(key=secret, msg=body))
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

s = dingtalk("SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1700000000000)
print("dingKAT       ", s, urllib.parse.quote_plus(s))
print("dingDocKAT    ", dingtalk("this is secret", 1577262236757))
print("feishuKAT     ", feishu("demo-secret-for-kat", 1599360473))
print("githubKAT     ", webhook("It's a Secret to Everybody", b"Hello, World!"))
