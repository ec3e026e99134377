package scheduler

import (
	"sync"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
)

// Blocked records the accounts a person must look at: those the platform
// says can no longer be read (ingest.KindAccountBlocked), and every account
// of a platform that withdrew what the app needs (ingest.KindWithdrawn).
// The runners write it; a metrics scrape reads it, so it is safe for
// concurrent use. A nil *Blocked records nothing.
type Blocked struct {
	mu        sync.Mutex
	accounts  map[blockedKey]string // account → reason
	platforms map[string]string     // platform → reason
}

type blockedKey struct{ platform, account string }

// NewBlocked returns an empty record.
func NewBlocked() *Blocked {
	return &Blocked{accounts: map[blockedKey]string{}, platforms: map[string]string{}}
}

// Reason says why a person must look at acct of platform (the Kind's
// name), or "".
func (b *Blocked) Reason(platform string, acct roster.Account) string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.accounts[blockedKey{platform, acct.AccountID}]; r != "" {
		return r
	}
	return b.platforms[platform]
}

// block records the outcome of a failed request for acct of platform.
func (b *Blocked) block(platform string, acct roster.Account, reason string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if reason == ingest.KindWithdrawn.String() {
		b.platforms[platform] = reason
		return
	}
	b.accounts[blockedKey{platform, acct.AccountID}] = reason
}

// clear records a request for acct that succeeded: neither the account nor
// its platform is blocked any more.
func (b *Blocked) clear(platform string, acct roster.Account) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.accounts, blockedKey{platform, acct.AccountID})
	delete(b.platforms, platform)
}
