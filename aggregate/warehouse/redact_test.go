package warehouse

import "testing"

func TestRedactDSN(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"http://default:tok3n-Secret_1@127.0.0.1:8123/tongxin", "http://default:xxxxx@127.0.0.1:8123/tongxin"},
		{"clickhouse://u:p%40ss%3Aword@ch:9000/db?dial_timeout=1s", "clickhouse://u:xxxxx@ch:9000/db?dial_timeout=1s"},
		{"http://127.0.0.1:8123/tongxin?username=u&password=hunter22", "http://127.0.0.1:8123/tongxin?username=u&password=xxxxx"},
		{"http://127.0.0.1:8123/tongxin", "http://127.0.0.1:8123/tongxin"},
		{"http://user@127.0.0.1:8123/tongxin", "http://user@127.0.0.1:8123/tongxin"},
	} {
		if got := RedactDSN(c.dsn); got != c.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", c.dsn, got, c.want)
		}
	}
}
