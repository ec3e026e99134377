package service

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTroubleCountsOnlyLastingFailures(t *testing.T) {
	tr := &Trouble{What: "ClickHouse writes", After: 50 * time.Millisecond}
	tr.Fail(errors.New("connection refused"))
	if tr.Err() != nil {
		t.Fatal("one fresh failure made the service unhealthy")
	}
	time.Sleep(60 * time.Millisecond)
	tr.Fail(errors.New("connection refused"))
	if err := tr.Err(); err == nil || !strings.Contains(err.Error(), "ClickHouse writes failing") {
		t.Fatalf("lasting failure: %v", err)
	}
	tr.OK()
	if tr.Err() != nil {
		t.Fatal("still unhealthy after a success")
	}
	if err := All(func() error { return nil }, func() error { return errors.New("x") })(); err == nil {
		t.Fatal("All passed a failing check")
	}
}
