package imagecheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var root = filepath.Join("..", "..")

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// makeVars reads the `NAME := value` and `NAME ?= value` assignments of
// make fragments.
func makeVars(t *testing.T, files ...string) map[string]string {
	t.Helper()
	assign := regexp.MustCompile(`(?m)^([A-Z_]+)\s*[:?]?=\s*(.*)$`)
	vars := map[string]string{}
	for _, f := range files {
		for _, m := range assign.FindAllStringSubmatch(read(t, f), -1) {
			vars[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return vars
}

// expand replaces $(NAME) with vars[NAME] until none is left that vars
// knows; fixed overrides vars.
func expand(s string, vars, fixed map[string]string) string {
	ref := regexp.MustCompile(`\$\(([A-Z_]+)\)`)
	for i := 0; i < 10; i++ {
		s = ref.ReplaceAllStringFunc(s, func(m string) string {
			name := ref.FindStringSubmatch(m)[1]
			if v, ok := fixed[name]; ok {
				return v
			}
			if v, ok := vars[name]; ok {
				return v
			}
			return m
		})
	}
	return s
}

// words splits a shell command into words, honouring single and double
// quotes (without escapes: neither recipe uses them).
func words(cmd string) []string {
	var out []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, c := range cmd {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if in || cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
			in = false
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if in || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// withoutOutput drops the `-o DIR` pair: the two recipes write elsewhere.
func withoutOutput(w []string) []string {
	if i := slices.Index(w, "-o"); i >= 0 && i+1 < len(w) {
		return slices.Delete(slices.Clone(w), i, i+2)
	}
	return w
}

// dockerfile is what the test reads of the Dockerfile.
type dockerfile struct {
	args       map[string]string // ARG defaults
	build      string            // the RUN line with go build, continuations joined
	finalFrom  string
	copies     []string // destinations of the final stage's COPY
	user       string
	entrypoint string
	env        []string
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	text := strings.ReplaceAll(read(t, "Dockerfile"), "\\\n", " ")
	d := dockerfile{args: map[string]string{}}
	final := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok {
				d.args[k] = v
			}
		case "FROM":
			final = !strings.Contains(rest, " AS ")
			d.finalFrom = rest
		case "RUN":
			if strings.Contains(rest, " go build ") {
				d.build = rest
			}
		case "COPY":
			if final {
				f := strings.Fields(rest)
				d.copies = append(d.copies, f[len(f)-1])
			}
		case "ENV":
			d.env = append(d.env, rest)
		case "USER":
			d.user = rest
		case "ENTRYPOINT":
			d.entrypoint = rest
		}
	}
	return d
}

// TestDockerfileBuildsWhatMakeImageBuilds compares the Dockerfile with make
// image's recipe: same go build words (the version variables as build args,
// GOOS/GOARCH as the platform's, linux/amd64 by default), same files, user
// and entrypoint.
func TestDockerfileBuildsWhatMakeImageBuilds(t *testing.T) {
	vars := makeVars(t, "hack/mk/build.mk", "hack/mk/deploy.mk")
	recipe := read(t, "hack/mk/deploy.mk")
	goBuild := regexp.MustCompile(`(?m)^\t(CGO_ENABLED=0 .*\$\(GO\) build .*)$`).FindStringSubmatch(recipe)
	if goBuild == nil {
		t.Fatal("hack/mk/deploy.mk: no go build line in the image recipe")
	}
	makeCmd := words(expand(goBuild[1], vars, map[string]string{"GO": "go", "VERSION": "@VERSION@", "COMMIT": "@COMMIT@"}))

	d := parseDockerfile(t)
	if d.build == "" {
		t.Fatal("Dockerfile: no RUN ... go build")
	}
	args := map[string]string{"VERSION": "@VERSION@", "COMMIT": "@COMMIT@", "TARGETOS": d.args["TARGETOS"], "TARGETARCH": d.args["TARGETARCH"]}
	dockerCmd := words(os.Expand(d.build, func(name string) string { return args[name] }))
	if !slices.Equal(withoutOutput(makeCmd), withoutOutput(dockerCmd)) {
		t.Errorf("the Dockerfile's build differs from make image's:\n make:   %q\n docker: %q", withoutOutput(makeCmd), withoutOutput(dockerCmd))
	}

	// The files make image puts in the image, by their destination, and
	// the /tmp and PATH its image tool always adds.
	want := []string{"/tmp"}
	for _, m := range regexp.MustCompile(`--file \S+:(\S+)`).FindAllStringSubmatch(recipe, -1) {
		want = append(want, m[1])
	}
	got := slices.Clone(d.copies)
	slices.Sort(want)
	slices.Sort(got)
	if len(want) < 3 || !slices.Equal(got, want) {
		t.Errorf("the Dockerfile's image holds %q; make image's %q", got, want)
	}
	path := regexp.MustCompile(`"(PATH=[^"]+)"`).FindStringSubmatch(read(t, "hack/tools/images/image.go"))
	if path == nil || !slices.Equal(d.env, []string{path[1]}) {
		t.Errorf("the Dockerfile's ENV %q; make image's tool sets %v", d.env, path)
	}
	if d.finalFrom != "scratch" {
		t.Errorf("the final stage is FROM %s; make image's has no base layer (scratch)", d.finalFrom)
	}
	entry := regexp.MustCompile(`--entrypoint (\S+)`).FindStringSubmatch(recipe)
	if entry == nil || d.entrypoint != `["`+entry[1]+`"]` {
		t.Errorf("ENTRYPOINT %s; make image's %v", d.entrypoint, entry)
	}
	user := regexp.MustCompile(`--user ((?:\$\([A-Z_]+\)|\d+):(?:\$\([A-Z_]+\)|\d+))`).FindStringSubmatch(recipe)
	if user == nil || d.user != expand(user[1], vars, nil) || !strings.HasPrefix(d.user, "65532:") {
		t.Errorf("USER %s; make image's %v (uid %s)", d.user, user, vars["IMAGE_UID"])
	}
}

// TestDockerfileGoVersion: the builder's Go release has go.mod's minor
// version and is not older than go.mod's go line.
func TestDockerfileGoVersion(t *testing.T) {
	goLine := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)(?:\.(\d+))?$`).FindStringSubmatch(read(t, "go.mod"))
	arg := regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`).FindStringSubmatch(parseDockerfile(t).args["GO_VERSION"])
	if goLine == nil || arg == nil {
		t.Fatalf("go.mod go line %v, Dockerfile GO_VERSION %v", goLine, arg)
	}
	patch := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if goLine[1] != arg[1] || goLine[2] != arg[2] || patch(arg[3]) < patch(goLine[3]) {
		t.Errorf("Dockerfile GO_VERSION %s; go.mod says go %s.%s.%s", arg[0], goLine[1], goLine[2], goLine[3])
	}
}

// TestDockerignoreKeepsTheSources: nothing the build compiles is left out
// of the build context.
func TestDockerignoreKeepsTheSources(t *testing.T) {
	for _, line := range strings.Split(read(t, ".dockerignore"), "\n") {
		p := strings.TrimPrefix(strings.TrimSpace(line), "/")
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		for _, need := range []string{"go.mod", "go.sum", "cmd", "pkg", "client"} {
			if ok, _ := filepath.Match(p, need); ok {
				t.Errorf(".dockerignore pattern %q leaves out %s, which the build needs", line, need)
			}
		}
	}
}
