package e2e

import (
	"net/url"
	"testing"
	"time"
)

// The meeting features that cross participants: raised hands and reactions (data messages one
// page sends and the other shows), the participant list, the grid view.

// TestAppHandsAndReactions: Ann raises her hand and Bo's page shows it on her tile and first in
// his participant list; a reaction from Ann floats over her tile on Bo's page; lowering the hand
// clears it there. Bo, joining after the hand went up, still learns of it.
func TestAppHandsAndReactions(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t)
	ann := joinConference(t, b, n, url.Values{"room": {"hands"}, "name": {"Ann"}, "identity": {"ann"}, "video": {"0"}, "audio": {"0"}})
	ann.Click(t, `#btn-hand`)
	ann.WaitFor(t, `document.getElementById('btn-hand').getAttribute('aria-pressed') === 'true' &&
		document.querySelector('.tile.local').classList.contains('hand-raised')`, 10*time.Second)

	bo := joinConference(t, b, n, url.Values{"room": {"hands"}, "name": {"Bo"}, "identity": {"bo"}, "video": {"0"}, "audio": {"0"}})
	annTile := `document.querySelector('.tile[data-identity=ann]:not(.screen)')`
	bo.WaitFor(t, annTile+`?.classList.contains('hand-raised') && !`+annTile+`.querySelector('.hand').hidden`, 10*time.Second)
	bo.Click(t, `#btn-people`)
	bo.WaitFor(t, `(() => { const li = document.querySelector('#people-list .person');
		return li?.dataset.identity === 'ann' && li.classList.contains('hand-raised'); })()`, 5*time.Second)

	ann.Click(t, `#btn-react`)
	ann.Click(t, `#reactions [data-emoji="🎉"]`)
	bo.WaitFor(t, annTile+`?.querySelector('.reaction[data-emoji="🎉"][data-from=ann]') !== null`, 10*time.Second)
	ann.WaitFor(t, `document.querySelector('.tile.local .reaction[data-emoji="🎉"]') !== null`, 5*time.Second)
	shoot(t, bo, "app-hand-and-people.png")

	ann.Click(t, `#btn-hand`)
	bo.WaitFor(t, `!`+annTile+`.classList.contains('hand-raised') &&
		!document.querySelector('#people-list .person[data-identity=ann]').classList.contains('hand-raised')`, 10*time.Second)
}

// TestAppParticipantList: the list names everyone in the call with their mute states, and
// follows joins and leaves.
func TestAppParticipantList(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	page := joinConference(t, NewBrowser(t), n, url.Values{"room": {"people"}, "name": {"Ann"}, "identity": {"ann"}, "video": {"0"}})
	page.Click(t, `#btn-people`)
	page.WaitFor(t, `!document.getElementById('people').hidden && document.querySelectorAll('#people-list .person').length === 1 &&
		document.querySelector('#people-list .person').textContent.includes('Ann (you)')`, 5*time.Second)
	gopher := connectGopher(t, n, "people")
	page.WaitFor(t, `(() => { const p = document.querySelector('#people-list .person[data-identity=gopher]');
		return document.querySelectorAll('#people-list .person').length === 2 && p?.textContent.includes('Gopher') &&
			p.classList.contains('mic-muted') && p.classList.contains('video-off') &&
			document.getElementById('people-count').textContent === '2'; })()`, 10*time.Second)
	gopher.Close()
	page.WaitFor(t, `document.querySelectorAll('#people-list .person').length === 1 && document.getElementById('people-count').textContent === '1'`, 10*time.Second)
}

// TestAppGridView: the toggle lays every tile out in one grid of equal tiles (no stage, no
// filmstrip), and back to the stage; the screenshots of both views are kept.
func TestAppGridView(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t, FakeCamera(t, 200))
	q := func(name string) url.Values {
		return url.Values{"room": {"grid"}, "name": {name}, "identity": {name}, "audio": {"0"}}
	}
	other := joinConference(t, b, n, q("bo"))
	page := joinConference(t, b, n, q("ann"))
	_ = other
	page.SetViewport(t, 1280, 800, false)
	page.WaitFor(t, `document.querySelector('#stage .tile[data-identity=bo] video')?.videoWidth > 0 &&
		document.querySelector('#filmstrip .tile.local') !== null`, 20*time.Second)
	shoot(t, page, "app-call.png")
	page.Click(t, `#btn-layout`)
	page.WaitFor(t, `(() => {
		const tiles = [...document.querySelectorAll('#grid .tile')];
		if (tiles.length !== 2 || document.querySelector('#stage .tile') || document.querySelector('#filmstrip .tile')) return false;
		const [a, b] = tiles.map((t) => t.getBoundingClientRect());
		return a.width > 300 && Math.abs(a.width - b.width) < 2 && Math.abs(a.height - b.height) < 2 &&
			document.getElementById('btn-layout').getAttribute('aria-pressed') === 'true';
	})()`, 10*time.Second)
	page.WaitFor(t, `[...document.querySelectorAll('#grid .tile video')].every((v) => v.videoWidth > 0 && !v.paused)`, 10*time.Second)
	shoot(t, page, "app-grid.png")
	page.Click(t, `#btn-layout`)
	page.WaitFor(t, `document.querySelector('#stage .tile[data-identity=bo]') !== null && document.querySelectorAll('#grid .tile').length === 0`, 10*time.Second)
}
