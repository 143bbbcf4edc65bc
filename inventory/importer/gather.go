package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// OC gathers the sources by running oc: read-only `oc get ... -o json` calls, each
// bounded by RequestTimeout.
type OC struct {
	// Path is the oc binary ("oc" looks it up on PATH).
	Path string
	// RequestTimeout is passed to oc as --request-timeout, and bounds each call
	// (with a grace period for oc's own start-up and login).
	RequestTimeout time.Duration
	// Kubeconfig, when set, is passed as --kubeconfig.
	Kubeconfig string
	// Grace is how much longer than RequestTimeout a call may take in all (oc's own
	// start-up, a login prompt that never gets an answer); 0 means 15s.
	Grace time.Duration
}

// Gather runs the five oc get calls; a call that fails is reported with oc's message
// and the others still run, so every problem shows at once.
func (oc OC) Gather(ctx context.Context) (Sources, error) {
	var src Sources
	var errs []error
	infra, network := Source{}, Source{}
	for _, c := range []struct {
		args []string
		into *Source
	}{
		{[]string{"get", "nodes", "-o", "json"}, &src.Nodes},
		{[]string{"get", "clusterversion", "version", "-o", "json"}, &src.ClusterVersion},
		{[]string{"get", "proxy", "cluster", "-o", "json"}, &src.Proxy},
		{[]string{"get", "infrastructure", "cluster", "-o", "json"}, &infra},
		{[]string{"get", "network.config", "cluster", "-o", "json"}, &network},
	} {
		data, err := oc.get(ctx, c.args)
		*c.into = Source{Name: "oc " + strings.Join(c.args, " "), Data: data}
		if err != nil {
			errs = append(errs, err)
		}
	}
	src.Infrastructure, src.Network = &infra, &network
	return src, errors.Join(errs...)
}

func (oc OC) get(ctx context.Context, args []string) ([]byte, error) {
	timeout := oc.RequestTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	full := append([]string{}, args...)
	full = append(full, "--request-timeout="+timeout.String())
	if oc.Kubeconfig != "" {
		full = append(full, "--kubeconfig="+oc.Kubeconfig)
	}
	path := oc.Path
	if path == "" {
		path = "oc"
	}
	grace := oc.Grace
	if grace <= 0 {
		grace = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+grace)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, full...)
	cmd.WaitDelay = time.Second // a child that keeps stdout open does not hold the import
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	shown := "oc " + strings.Join(args, " ")
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return nil, fmt.Errorf("%s: oc is not on PATH (install it, or capture the files elsewhere and give them with --nodes, --clusterversion, --proxy, --infrastructure and --network)", shown)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: no answer within %s (--request-timeout %s)", shown, timeout+grace, timeout)
	case err != nil:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return nil, fmt.Errorf("%s: %s", shown, msg)
	}
	return stdout.Bytes(), nil
}
