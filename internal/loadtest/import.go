package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ImportReport is the outcome of `bench import`.
type ImportReport struct {
	Rows      int
	Bytes     int64
	Seconds   float64
	Imported  int64
	Invalid   int64
	PeakRSSMB float64 // the server's peak resident memory (VmHWM), 0 when unknown
}

// Import generates a CSV of rows contacts (the ExtremeSMS export's columns plus names and a
// custom field, about 50 bytes a row), streams it to POST /api/v1/contacts/import and times the
// answer. pid, when known, is the server's process: its peak RSS is read from /proc.
func Import(ctx context.Context, opt Options, rows, pid int) (ImportReport, error) {
	return upload(ctx, opt, rows, pid, "/api/v1/contacts/import", map[string]string{"tag": "bench"}, http.StatusOK)
}

// Campaign creates a campaign from a generated CSV of rows recipients (as Import generates)
// and times the answer: every recipient rendered, priced, stored, and the cost reserved.
func Campaign(ctx context.Context, opt Options, rows, pid int) (ImportReport, error) {
	return upload(ctx, opt, rows, pid, "/api/v1/campaigns", map[string]string{"name": "bench",
		"message": "Hi [first name], your [plan] plan renews soon. Reply STOP to opt out."}, http.StatusCreated)
}

func upload(ctx context.Context, opt Options, rows, pid int, path string, fields map[string]string, want int) (ImportReport, error) {
	r := newRun(opt)
	key, err := r.sendingClient(ctx, "")
	if err != nil {
		return ImportReport{}, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	counter := &countWriter{}
	go func() {
		fw, err := mw.CreateFormFile("file", "contacts.csv")
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		w := bufio.NewWriterSize(io.MultiWriter(fw, counter), 64<<10)
		w.WriteString("Phone Number,First Name,Last Name,Business,Plan\n")
		for i := range rows {
			fmt.Fprintf(w, "+1555%07d,First%d,Last%d,%s,gold\n", i%10_000_000, i, i, opt.Client)
		}
		w.Flush()
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, opt.URL+path, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	fmt.Fprintf(opt.Log, "bench: client %s, uploading %d rows to %s\n", opt.Client, rows, path)
	start := time.Now()
	res, err := r.client.Do(req)
	if err != nil {
		return ImportReport{}, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	rep := ImportReport{Rows: rows, Bytes: counter.n, Seconds: time.Since(start).Seconds(), PeakRSSMB: peakRSS(pid)}
	if res.StatusCode != want {
		return rep, fmt.Errorf("%s: %d %.300s", path, res.StatusCode, body)
	}
	var out struct {
		Imported     int64 `json:"imported"`
		InvalidCount int64 `json:"invalid_count"`
		Total        int64 `json:"total"`
		Invalid      int64 `json:"invalid"`
	}
	_ = json.Unmarshal(body, &out)
	rep.Imported, rep.Invalid = out.Imported+out.Total, out.InvalidCount+out.Invalid
	return rep, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// peakRSS reads a process's VmHWM (peak resident set) in MB from /proc.
func peakRSS(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// Write prints the report.
func (rep ImportReport) Write(w io.Writer) {
	fmt.Fprintf(w, "upload          %d rows (%.1f MB) in %.2fs: %d accepted, %d invalid\n", rep.Rows,
		float64(rep.Bytes)/1e6, rep.Seconds, rep.Imported, rep.Invalid)
	if rep.PeakRSSMB > 0 {
		fmt.Fprintf(w, "server peak RSS %.0f MB\n", rep.PeakRSSMB)
	}
}
