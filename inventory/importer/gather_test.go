package importer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeOC writes an oc script into a temporary directory and returns its path.
func fakeOC(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "oc")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// Each call is read-only, asks for JSON, carries --request-timeout, and what oc prints
// is the source, named after the command.
func TestGather(t *testing.T) {
	log := filepath.Join(t.TempDir(), "calls")
	oc := OC{Path: fakeOC(t, `echo "$*" >>`+log+`; echo '{"kind": "List", "items": []}'`), RequestTimeout: 7 * time.Second}
	src, err := oc.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(log)
	want := "get nodes -o json --request-timeout=7s\n" +
		"get clusterversion version -o json --request-timeout=7s\n" +
		"get proxy cluster -o json --request-timeout=7s\n" +
		"get infrastructure cluster -o json --request-timeout=7s\n" +
		"get network.config cluster -o json --request-timeout=7s\n"
	if string(calls) != want {
		t.Errorf("oc was called as:\n%s\nwant:\n%s", calls, want)
	}
	if src.Nodes.Name != "oc get nodes -o json" || !strings.Contains(string(src.Nodes.Data), `"List"`) || src.Infrastructure == nil || src.Network == nil || src.Network.Name != "oc get network.config cluster -o json" {
		t.Errorf("sources: %+v", src)
	}
}

// An oc that never answers is stopped: each call is bounded.
func TestGatherBounded(t *testing.T) {
	oc := OC{Path: fakeOC(t, "exec sleep 30\n"), RequestTimeout: 100 * time.Millisecond, Grace: 100 * time.Millisecond}
	start := time.Now()
	_, err := oc.Gather(context.Background())
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("five hanging calls took %s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "oc get nodes -o json: no answer within 200ms (--request-timeout 100ms)") {
		t.Errorf("got %v", err)
	}
}
