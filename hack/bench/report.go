package main

import (
	"fmt"
	"strings"
	"time"
)

// row is one line of the results table.
type row struct {
	dataset, step  string
	cairn, restic  measurement
	files, bytes   int64
	storedRelevant bool
}

func tableRows(ds string, files, bytes int64, res map[string]map[string]measurement) []row {
	var rows []row
	for _, step := range []string{"backup", "unchanged", "changed", "restore"} {
		rows = append(rows, row{
			dataset: ds, step: step, files: files, bytes: bytes,
			cairn: res["cairn"][step], restic: res["restic"][step],
			storedRelevant: step != "restore",
		})
	}
	return rows
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// render prints a markdown table. "speedup" is restic time / cairn time (so
// > 1 means cairn is faster); RSS and stored-size ratios are cairn / restic
// (so < 1 means cairn uses less).
func render(rows []row, when time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s; speedup = restic time / cairn time (wall clock, and user+system CPU; fastest run of each step); RSS (median run of each step) and size ratios = cairn / restic; cairn's peak RSS includes its password hash (argon2id, 64 MiB), \"w/o KDF\" is its peak after the repository was open.\n\n", when.UTC().Format(time.RFC3339))
	b.WriteString("| dataset | step | cairn time | restic time | speedup | cairn CPU | restic CPU | CPU speedup | cairn MB/s | cairn files/s | restic files/s | cairn peak RSS | cairn RSS w/o KDF | restic peak RSS | RSS ratio | RSS ratio w/o KDF | cairn repo | restic repo | size ratio |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		cs, rs := r.cairn.wall.Seconds(), r.restic.wall.Seconds()
		mbs := func(s float64) string {
			if s == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f", float64(r.bytes)/1e6/s)
		}
		fps := func(s float64) string {
			if s == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f", float64(r.files)/s)
		}
		stored := [3]string{"-", "-", "-"}
		if r.storedRelevant {
			stored = [3]string{mib(r.cairn.stored), mib(r.restic.stored), ratio(float64(r.cairn.stored), float64(r.restic.stored))}
		}
		cc, rc := r.cairn.cpu.Seconds(), r.restic.cpu.Seconds()
		fmt.Fprintf(&b, "| %s | %s | %.2fs | %.2fs | %s | %.2fs | %.2fs | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.dataset, r.step, cs, rs, ratio(rs, cs), cc, rc, ratio(rc, cc), mbs(cs), fps(cs), fps(rs),
			mib(r.cairn.maxRSS), mib(r.cairn.pipelineRSS), mib(r.restic.maxRSS),
			ratio(float64(r.cairn.maxRSS), float64(r.restic.maxRSS)), ratio(float64(r.cairn.pipelineRSS), float64(r.restic.maxRSS)),
			stored[0], stored[1], stored[2])
	}
	return b.String()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
