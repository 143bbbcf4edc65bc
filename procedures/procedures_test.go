package procedures

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// sharedDir holds the project's shared documents: ../shared beside the checkout, or
// RESTOREKIT_SHARED_DIR (a worktree that is not beside it).
func sharedDir() string {
	if d := os.Getenv("RESTOREKIT_SHARED_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared")
}

// The pages here are the shared documents, byte for byte: a kit carries the page its
// step numbers cite, so a page changed there must be copied here (and the other way).
func TestPagesAreTheSharedDocuments(t *testing.T) {
	dir := sharedDir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("comparison with the shared documents skipped: %s is absent (set RESTOREKIT_SHARED_DIR to compare)", dir)
	}
	pages, err := fs.Glob(FS, "*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 3 {
		t.Errorf("pages %v, want the three of procedure*.md", pages)
	}
	shared, err := filepath.Glob(filepath.Join(dir, "procedure*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range shared {
		if _, err := fs.Stat(FS, filepath.Base(p)); err != nil {
			t.Errorf("%s is not copied into procedures/", p)
		}
	}
	for _, page := range pages {
		ours, err := fs.ReadFile(FS, page)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("procedures/%s: no shared copy: %v", page, err)
			continue
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("procedures/%s differs from %s: copy the shared document here (cp %s procedures/)", page, filepath.Join(dir, page), filepath.Join(dir, page))
		}
	}
}
