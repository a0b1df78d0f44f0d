// Package e2e holds facesearch's end-to-end tests: the commands driven
// through cli.Run on real photos with the real models, the web page in
// headless Chromium, the live JSON API under load, and a Weaviate cluster in
// a private network namespace. It has no code of its own; the tests live
// here, outside internal/, because they drive the whole program (the cli
// package) and would otherwise make a lower package's tests import it.
// Their long tests skip under -short.
package e2e
