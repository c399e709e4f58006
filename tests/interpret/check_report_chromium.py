#!/usr/bin/python3
"""The training report as a person sees it: open it in headless Chromium and check that it loaded.

CTest runs this as interpret:report_in_chromium. It asks fastpp_tests_interpret's hidden case "report
page for the browser" to train the tiny colour learner (lr_find, then fine_tune) and write report.html
with the numbers its epoch table must show (expected_rows.tsv), then:
  1. takes a screenshot of the page (report.png, kept in the work folder for a person to look at);
  2. opens a test copy of the page, with a script added that records every error event, every
     console.error and, once the page has loaded, each image's naturalWidth and the epoch table's cells,
     and reads those back from Chromium's --dump-dom;
  3. fails on any console message Chromium logged while loading the original page, any image that did
     not decode (naturalWidth 0), any script error, or a table cell that differs from what was recorded.
Exits 4 (CTest's SKIP_RETURN_CODE) with the reason when Chromium is not installed. Python's standard
library only.
"""
import argparse
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys

SKIP = 4

PROBE_HEAD = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var what = e.target && e.target !== window && (e.target.src || e.target.href);
  window.__errors.push(what ? 'resource failed: ' + String(what).slice(0, 60) : String(e.message));
}, true);
(function () {
  var orig = console.error;
  console.error = function () { window.__errors.push(Array.prototype.join.call(arguments, ' ')); orig.apply(console, arguments); };
})();
</script>
"""

PROBE_BODY = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = {
    images: imgs.map(function (i) { return [i.alt, i.complete, i.naturalWidth, i.naturalHeight]; }),
    rows: Array.prototype.map.call(document.querySelectorAll('#epoch-table tr.epoch'), function (tr) {
      return Array.prototype.map.call(tr.querySelectorAll('td.value'), function (td) { return td.textContent; });
    }),
    sections: Array.prototype.map.call(document.querySelectorAll('section'), function (s) { return s.id; }),
    errors: window.__errors
  };
  var pre = document.createElement('pre');
  pre.id = '__probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""

SECTIONS = ["summary", "data", "lr-find", "epochs", "loss", "schedule", "confusion", "top-losses", "machine"]
FIGURES = ["show_batch", "lr_find", "loss", "schedule", "confusion matrix", "top losses"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def chromium_cmd(chromium, *args):
    # --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
    return [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
            "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0", *args]


def run_chromium(chromium, args, what):
    r = subprocess.run(chromium_cmd(chromium, *args), capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        fail("chromium (%s) exited with %d:\n%s" % (what, r.returncode, r.stderr[-3000:]))
    return r


def console_lines(stderr):
    return [l for l in stderr.splitlines() if ":CONSOLE" in l]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests-exe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--chromium", default=None)
    a = ap.parse_args()

    chromium = a.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("SKIP: Debian's chromium is not installed (scripts/deps.sh installs it), so the report cannot be "
              "opened in a browser here")
        sys.exit(SKIP)

    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = dict(os.environ, FASTPP_REPORT_PAGE_DIR=work)
    r = subprocess.run([a.tests_exe, "report page for the browser"], env=env, capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        fail("writing the report failed (%d):\n%s\n%s" % (r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    page = os.path.join(work, "report.html")
    with open(page, encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(work, "expected_rows.tsv"), encoding="utf-8") as f:
        expected = [line.split("\t") for line in f.read().splitlines()]
    if len(expected) != 3:
        fail("expected_rows.tsv holds %d epochs, not 3 (lr_find, then fine_tune: 1 + 2)" % len(expected))

    # 1. The screenshot, of the original page; its console must stay silent.
    png = os.path.join(work, "report.png")
    shot = run_chromium(chromium, ["--window-size=1280,5200", "--screenshot=" + png, "file://" + page], "screenshot")
    if console_lines(shot.stderr):
        fail("the page logged to the console:\n" + "\n".join(console_lines(shot.stderr)))
    with open(png, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        fail("the screenshot is not a PNG")
    w, h = struct.unpack(">II", head[16:24])
    if (w, h) != (1280, 5200):
        fail("the screenshot is %dx%d, not 1280x5200" % (w, h))
    if os.path.getsize(png) < 20000:
        fail("the screenshot is %d bytes: the page looks empty" % os.path.getsize(png))

    # 2. The probed copy: errors, images and the table, read back from the DOM.
    probed = text.replace("<head>\n", "<head>\n" + PROBE_HEAD, 1).replace("</body>", PROBE_BODY + "</body>", 1)
    if probed.count("__errors") < 2 or "__probe" not in probed:
        fail("the report has no <head> or </body> to add the probe to")
    copy = os.path.join(work, "report_probe.html")
    with open(copy, "w", encoding="utf-8") as f:
        f.write(probed)
    dump = run_chromium(chromium, ["--dump-dom", "file://" + copy], "dump-dom")
    m = re.search(r'<pre id="__probe">(.*?)</pre>', dump.stdout, re.S)
    if not m:
        fail("the probe found no loaded page (no load event?); chromium said:\n" + dump.stderr[-3000:])
    res = json.loads(html.unescape(m.group(1)))

    problems = []
    logged = console_lines(dump.stderr)
    if logged:
        problems.append("console messages:\n  " + "\n  ".join(logged))
    if res["errors"]:
        problems.append("errors: %s" % res["errors"])
    if res["sections"] != SECTIONS:
        problems.append("sections %s, expected %s" % (res["sections"], SECTIONS))
    alts = [i[0] for i in res["images"]]
    for fig in FIGURES:
        if fig not in alts:
            problems.append("no image %r (images: %s)" % (fig, alts))
    for alt, complete, nw, nh in res["images"]:
        if not complete or nw <= 0 or nh <= 0:
            problems.append("image %r did not decode (complete %s, naturalWidth %s, naturalHeight %s)" % (alt, complete, nw, nh))
    if res["rows"] != expected:
        problems.append("epoch table %s, recorded %s" % (res["rows"], expected))
    if problems:
        fail("\n".join(problems))
    print("report in chromium: %d images decoded (%s), epoch table = recorded values (%d rows), no console "
          "message; screenshot %s (%dx%d)" % (len(res["images"]), ", ".join("%s %dx%d" % (i[0], i[2], i[3]) for i in res["images"]),
                                              len(expected), png, w, h))


if __name__ == "__main__":
    main()
