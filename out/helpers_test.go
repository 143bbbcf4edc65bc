package out

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// demoKit is a hand-made kit: packaging tests must not depend on the real templates.
func demoKit() *render.Kit {
	inv := &inventory.Inventory{
		APIVersion:   inventory.APIVersion,
		Kind:         inventory.Kind,
		Cluster:      inventory.Cluster{Name: "demo", Version: "4.5.2"},
		RecoveryHost: "m1.demo.example",
		Masters: []inventory.Master{
			{Name: "m1.demo.example", Address: "127.0.0.11"},
			{Name: "m2.demo.example", Address: "127.0.0.12"},
		},
	}
	script := func(s string) []byte { return []byte("#!/usr/bin/env bash\nset -euo pipefail\necho " + s + "\n") }
	return &render.Kit{
		Name:      "demo-recovery-kit",
		Inventory: inv,
		Files: []render.File{
			{Name: "RUNBOOK.md", Mode: 0o644, Data: []byte("# Recovering demo\n\n1. Read this.\n")},
			{Name: "hosts/m1.demo.example/restart-kubelet.sh", Mode: 0o755, Data: script("restart m1")},
			{Name: "hosts/m1.demo.example/restore.sh", Mode: 0o755, Data: script("restore m1")},
			{Name: "hosts/m2.demo.example/restart-kubelet.sh", Mode: 0o755, Data: script("restart m2")},
			{Name: "hosts/m2.demo.example/stop-static-pods.sh", Mode: 0o755, Data: script("stop m2")},
			{Name: "inventory.yaml", Mode: 0o644, Data: []byte("cluster:\n  name: demo\n")},
			{Name: "kit.json", Mode: 0o644, Data: []byte("{\"kit\": \"demo-recovery-kit\"}\n")},
			{Name: "recover.sh", Mode: 0o755, Data: script("recover")},
			{Name: "redeploy.sh", Mode: 0o755, Data: script("redeploy")},
		},
	}
}

// withBackup records files of the given contents as the kit's backup pair.
func withBackup(t *testing.T, kit *render.Kit, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(files[n]))
		kit.Inventory.Backup.Files = append(kit.Inventory.Backup.Files, inventory.BackupFile{
			Name: n, Size: int64(len(files[n])), SHA256: hex.EncodeToString(sum[:]), Path: p,
		})
	}
}

// withUmask runs f with the process umask set to mask (tests using it are not parallel).
func withUmask(mask int, f func()) {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

// tree lists every path under dir with its type and permission bits, one per line.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, rel+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

// runCmd runs a command in dir and returns its combined output and exit code.
func runCmd(t *testing.T, dir string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return buf.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.String(), 0
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func renderFile(name, data string) render.File {
	return render.File{Name: name, Mode: 0o755, Data: []byte(data)}
}
