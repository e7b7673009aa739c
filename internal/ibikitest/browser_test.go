package ibikitest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

const browserSelfTestPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>ibikitest browser</title>
<style>body{font-family:sans-serif;margin:40px} #greeting{font-size:28px;color:#0a5}</style>
</head><body>
<h1>Browser harness self-test</h1>
<form id="form" onsubmit="return false">
  <label>Name <input id="name" type="text" autocomplete="off"></label>
  <button id="greet" type="button"
    onclick="document.getElementById('greeting').textContent = 'Hello, ' + document.getElementById('name').value + '!'">Greet</button>
</form>
<p id="greeting">Nobody greeted yet</p>
</body></html>`

// TestBrowserHarness proves that NewBrowser, Run, Get and Screenshot work against a real
// Chromium: navigate, type, click, wait for the page's JS to change the text, read it back.
func TestBrowserHarness(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(browserSelfTestPage))
	}))
	t.Cleanup(srv.Close)

	ctx := NewBrowser(t)
	Run(t, ctx, "open the page",
		chromedp.Navigate(srv.URL),
		chromedp.WaitVisible(chromedp.ID("name")),
	)
	if title := Get(t, ctx, "read the title", chromedp.Title()); title != "ibikitest browser" {
		t.Errorf("title = %q, want %q", title, "ibikitest browser")
	}
	Run(t, ctx, "type the name and click Greet",
		chromedp.SendKeys(chromedp.ID("name"), "Ada"),
		chromedp.Click(chromedp.ID("greet")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="greeting"][contains(., "Hello, Ada!")]`)),
	)
	if got := Get(t, ctx, "read the greeting", chromedp.Text(chromedp.ID("greeting"))); got != "Hello, Ada!" {
		t.Errorf("greeting = %q, want %q", got, "Hello, Ada!")
	}
	if got := Get(t, ctx, "read the input", chromedp.Value(chromedp.ID("name"))); got != "Ada" {
		t.Errorf("input value = %q, want %q", got, "Ada")
	}
	Screenshot(t, ctx, "greeted")
}
