package out

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/restorekit/restorekit/render"
)

// RunMarker is the line after which a .run file carries its .tar.gz payload.
const RunMarker = "__ARCHIVE_BELOW__"

//go:embed selfextract.sh
var runTemplate string

// RunHeader returns the bash header of a .run file for a payload of the given size and
// sha256: deterministic, it ends with the marker line, and PAYLOAD_OFFSET in it is its
// own length.
func RunHeader(kitName string, payloadSize int64, payloadSHA256 string) ([]byte, error) {
	quoted, err := render.ShellQuote(kitName)
	if err != nil {
		return nil, err
	}
	if !sha256Hex.MatchString(payloadSHA256) {
		return nil, fmt.Errorf("payload sha256 %q: not a lowercase hex sha256", payloadSHA256)
	}
	r := strings.NewReplacer("@KIT_QUOTED@", quoted, "@KIT@", kitName,
		"@PAYLOAD_SHA256@", payloadSHA256, "@PAYLOAD_SIZE@", strconv.FormatInt(payloadSize, 10))
	base := r.Replace(runTemplate)
	if !strings.HasSuffix(base, "\n"+RunMarker+"\n") {
		return nil, fmt.Errorf("self-extracting header does not end with the %s line", RunMarker)
	}
	// The offset is written in decimal inside the header it measures: grow it until the
	// digits it takes are accounted for.
	offset := len(base)
	for {
		h := strings.Replace(base, "@PAYLOAD_OFFSET@", strconv.Itoa(offset), 1)
		if len(h) == offset {
			return []byte(h), nil
		}
		offset = len(h)
	}
}

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	runField  = regexp.MustCompile(`(?m)^readonly (PAYLOAD_SHA256|PAYLOAD_SIZE|PAYLOAD_OFFSET)=([0-9a-f]+)$`)
)

// runInfo is what a .run header records about its payload.
type runInfo struct {
	sha256 string
	size   int64
	offset int64
}

// maxRunHeader bounds how much of a file is read looking for a .run header.
const maxRunHeader = 1 << 20

// readRunHeader parses the header of a .run file and checks its payload's size.
func readRunHeader(f *os.File) (runInfo, error) {
	head := make([]byte, maxRunHeader)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return runInfo{}, err
	}
	head = head[:n]
	end := bytes.Index(head, []byte("\n"+RunMarker+"\n"))
	if end < 0 {
		return runInfo{}, fmt.Errorf("%s: no %s line: not a restorekit .run file", f.Name(), RunMarker)
	}
	var info runInfo
	found := 0
	for _, m := range runField.FindAllSubmatch(head[:end], -1) {
		var err error
		switch string(m[1]) {
		case "PAYLOAD_SHA256":
			info.sha256 = string(m[2])
		case "PAYLOAD_SIZE":
			info.size, err = strconv.ParseInt(string(m[2]), 10, 64)
		case "PAYLOAD_OFFSET":
			info.offset, err = strconv.ParseInt(string(m[2]), 10, 64)
		}
		if err != nil {
			return runInfo{}, fmt.Errorf("%s: %s: %w", f.Name(), m[1], err)
		}
		found++
	}
	if found != 3 || !sha256Hex.MatchString(info.sha256) {
		return runInfo{}, fmt.Errorf("%s: header does not record the payload's size, offset and sha256", f.Name())
	}
	if want := int64(end + len(RunMarker) + 2); info.offset != want {
		return runInfo{}, fmt.Errorf("%s: header says the payload starts at byte %d, the marker ends at %d", f.Name(), info.offset, want)
	}
	fi, err := f.Stat()
	if err != nil {
		return runInfo{}, err
	}
	if fi.Size() != info.offset+info.size {
		return runInfo{}, fmt.Errorf("%s: %d bytes, the header says %d: truncated or changed", f.Name(), fi.Size(), info.offset+info.size)
	}
	return info, nil
}
