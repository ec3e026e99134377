package enginetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestEngineFrontUnits runs the Python tests of the local engine front
// (deploy/local/clickhouse/test_chhttp.py: its token, its refusal of
// browsers and host-reaching statements, its body bounds) with the engine's
// own venv, so `make test` keeps them honest too.
func TestEngineFrontUnits(t *testing.T) {
	ClickHouse(t) // the venv exists once an engine has started
	dir := filepath.Join(RepoRoot(), "deploy", "local", "clickhouse")
	req, err := os.ReadFile(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^chdb==(\S+)`).FindSubmatch(req)
	if m == nil {
		t.Fatal("requirements.txt pins no chdb version")
	}
	cache := os.Getenv("TONGXIN_CACHE_DIR")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(base, "tongxin")
	}
	py := filepath.Join(cache, "chdb-"+string(m[1]), "bin", "python")
	cmd := exec.Command(py, "-m", "unittest", "discover", "-s", dir)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -m unittest: %v\n%s", py, err, out)
	}
}
