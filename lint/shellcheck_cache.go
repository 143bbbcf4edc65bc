package lint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// findingsCache keeps ShellCheck's comments on one script content per file, named by
// the run's key (see jobKey). A nil cache keeps nothing.
type findingsCache struct {
	dir string
	// salt is mixed into every key: ShellCheck's version and options.
	salt string
}

// cacheEntry is one cache file; Key guards against a file that is not what its name
// says (cut short, or written by something else).
type cacheEntry struct {
	Key      string              `json:"key"`
	Comments []shellCheckComment `json:"comments"`
}

// cacheSalt names the ShellCheck and the options a key is for; the format number
// changes when what a key covers does.
func cacheSalt(version string, args []string) string {
	return fmt.Sprintf("restorekit shellcheck cache 1\nshellcheck %s\nargs %q\n", version, strings.Join(args, " "))
}

func (c *findingsCache) path(key string) string { return filepath.Join(c.dir, key+".json") }

// get returns the comments cached for key; a missing or unreadable entry is a miss.
func (c *findingsCache) get(key string) ([]shellCheckComment, bool) {
	if c == nil {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if json.Unmarshal(data, &e) != nil || e.Key != key || e.Comments == nil {
		return nil, false
	}
	return e.Comments, true
}

// put stores comments for key, written to a temporary file and renamed so that a
// reader never sees half an entry. Failing to store is not an error: the cache is
// only a shortcut.
func (c *findingsCache) put(key string, comments []shellCheckComment) {
	if c == nil {
		return
	}
	data, err := json.Marshal(cacheEntry{Key: key, Comments: comments})
	if err != nil {
		return
	}
	if os.MkdirAll(c.dir, 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(c.dir, ".entry-*")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), c.path(key)) != nil {
		os.Remove(f.Name())
	}
}
