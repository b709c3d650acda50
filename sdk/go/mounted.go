package promptrelease

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Options tune a MountedPrompt.
type Options struct {
	// SkipVerify serves payloads without checking their hash (unsafe templates are still refused).
	SkipVerify bool
	// CheckInterval is the least time between checks for a swap (default 1 s; negative: every access).
	CheckInterval time.Duration
	// Logger reports reloads and refusals (default slog.Default()).
	Logger *slog.Logger
}

// Selection counts what Select chose.
type Selection struct {
	Variant, Version, Hash string
	Count                  int
}

type served struct {
	stable *Prompt
	canary *CanaryRelease
}

// LoadPayload reads and verifies <directory>/prompt.json once.
func LoadPayload(directory string, verifyHash bool) (*Prompt, error) {
	path := filepath.Join(directory, PayloadFile)
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, payloadError(KindRead, "cannot read %s: %v", path, err)
	}
	return ParsePayload(text, verifyHash)
}

// LoadCanary reads <directory>/canary.json once; nil when the release runs no canary.
func LoadCanary(directory string, verifyHash bool) (*CanaryRelease, error) {
	path := filepath.Join(directory, CanaryFile)
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, payloadError(KindRead, "cannot read %s: %v", path, err)
	}
	return ParseCanary(text, verifyHash)
}

func load(directory string, verifyHash bool) (served, error) {
	stable, err := LoadPayload(directory, verifyHash)
	if err != nil {
		return served{}, err
	}
	canary, err := LoadCanary(directory, verifyHash)
	if err != nil {
		return served{}, err
	}
	if canary != nil && (canary.Prompt.Name != stable.Name || canary.Prompt.Label != stable.Label) {
		return served{}, payloadError(KindMalformed, "%s is a candidate of %s/%s, not %s/%s", CanaryFile, canary.Prompt.Name, canary.Prompt.Label, stable.Name, stable.Label)
	}
	return served{stable, canary}, nil
}

// MountedPrompt is a prompt mounted from a release's ConfigMap, reloaded when the kubelet
// swaps the `..data` symlink: on access, at most once per CheckInterval, it compares the
// symlink's target (one readlink, no goroutine); after a swap it reads and verifies the new
// files and only then serves them. Files that are unreadable or don't verify are refused: the
// last good prompt and canary keep being served. Safe for concurrent use.
type MountedPrompt struct {
	Directory string
	options   Options
	logger    *slog.Logger

	mu            sync.Mutex
	marker        string
	served        served
	checkedAt     time.Time
	reloads       int
	failedReloads int
	counts        map[[3]string]int
	outcomes      *Outcomes
}

// Mount reads and verifies the prompt in directory. It fails when prompt.json is missing, of
// an unknown format, or fails its hash check; a bad canary.json only means no canary.
func Mount(directory string, options Options) (*MountedPrompt, error) {
	if options.CheckInterval == 0 {
		options.CheckInterval = time.Second
	}
	logger := options.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m := &MountedPrompt{Directory: directory, options: options, logger: logger, counts: map[[3]string]int{}, outcomes: &Outcomes{}}
	m.marker = m.readMarker()
	stable, err := LoadPayload(directory, !options.SkipVerify)
	if err != nil {
		return nil, err
	}
	m.served, err = load(directory, !options.SkipVerify)
	if err != nil {
		logger.Warn(fmt.Sprintf("serving %s %s to all: %v", stable.Name, stable.Version, err))
		m.served = served{stable: stable}
	}
	m.checkedAt = time.Now()
	return m, nil
}

func (m *MountedPrompt) now() served {
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.checkedAt) >= m.options.CheckInterval {
		m.maybeReload()
	}
	return m.served
}

// Current is the newest good (stable) prompt: take it once per request.
func (m *MountedPrompt) Current() *Prompt { return m.now().stable }

// Candidate is the canary's candidate prompt, nil without a canary.
func (m *MountedPrompt) Candidate() *Prompt {
	if canary := m.now().canary; canary != nil {
		return canary.Prompt
	}
	return nil
}

// Canary is the running canary (its split and candidate), nil without one.
func (m *MountedPrompt) Canary() *CanaryRelease { return m.now().canary }

// Select returns the stable prompt or the canary's candidate for this request, tagged with
// its variant. With a key (a user or session id) the choice is sticky; with "" each call
// draws at random. attributes pick a segment's weight.
func (m *MountedPrompt) Select(key string, attributes map[string]string) *Prompt {
	current := m.now()
	chosen := current.stable.withVariant(Stable)
	if current.canary != nil && current.canary.Split.ServesCandidate(key, attributes) {
		chosen = current.canary.Prompt
	}
	m.mu.Lock()
	m.counts[[3]string{chosen.Variant, chosen.Version, chosen.Hash}]++
	m.mu.Unlock()
	return chosen
}

// Selections counts what Select chose, per (variant, version, hash), in this process.
func (m *MountedPrompt) Selections() []Selection {
	m.mu.Lock()
	defer m.mu.Unlock()
	found := make([]Selection, 0, len(m.counts))
	for key, count := range m.counts {
		found = append(found, Selection{key[0], key[1], key[2], count})
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i], found[j]
		return a.Variant+"\x00"+a.Version+"\x00"+a.Hash < b.Variant+"\x00"+b.Version+"\x00"+b.Hash
	})
	return found
}

// Reloads and FailedReloads count swaps served and refused.
func (m *MountedPrompt) Reloads() (reloads, failed int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloads, m.failedReloads
}

// readMarker identifies the files on disk: the `..data` target, else the files' mtimes.
func (m *MountedPrompt) readMarker() string {
	if target, err := os.Readlink(filepath.Join(m.Directory, "..data")); err == nil {
		return target
	}
	marks := ""
	for i, name := range []string{PayloadFile, CanaryFile} {
		info, err := os.Stat(filepath.Join(m.Directory, name))
		if err != nil {
			if i == 0 {
				return ""
			}
			continue
		}
		marks += fmt.Sprintf("%d:%d|", info.ModTime().UnixNano(), info.Size())
	}
	return marks
}

func (m *MountedPrompt) maybeReload() {
	m.checkedAt = time.Now()
	marker := m.readMarker()
	if marker == m.marker {
		return
	}
	loaded, err := load(m.Directory, !m.options.SkipVerify)
	if err != nil {
		m.failedReloads++
		m.logger.Warn(fmt.Sprintf("keeping %s %s: %v", m.served.stable.Name, m.served.stable.Version, err))
		return // the marker stays old, so the next check tries again
	}
	if m.readMarker() != marker {
		return // swapped again while reading
	}
	m.marker, m.served = marker, loaded
	m.reloads++
	m.logger.Info(fmt.Sprintf("reloaded %s: %s (%s, revision %d)", loaded.stable.Name, loaded.stable.Version, loaded.stable.Hash, loaded.stable.Revision))
}
