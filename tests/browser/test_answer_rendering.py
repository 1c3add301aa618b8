"""Answers and prompts in Chromium as sanitised Markdown (static/arena/markdown.js).

Both sides are scripted models answering with the Markdown under test, so each pane shows exactly that
text. Every XSS payload would set `window.__pwned`; each is checked in the DOM as well, since a payload
that fails to run can still leave a live element behind.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.conftest import LiveStack, _database_url
from tests.processes import environment, processes_running

# Hosted by this module's own worker: the live stack's worker cuts answers at the test suite's 24 tokens
# (tests/env.py), shorter than the Markdown here, and would take these models' work if it hosted them.
ANSWER_SLUGS = ("markdown-a", "markdown-b")

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

MARKDOWN = """# Shapes

The square is **orange**.

- first
- second

| colour | count |
|:-------|------:|
| orange | 1 |

```python
def area(side):
    return side ** 2
```

Its area is $x^2$, and on average

$$\\int_0^1 x\\,dx$$
"""

SVG = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"/>').decode()
XSS = f"""Here you go:

<script>window.__pwned=1</script>

<img src=x onerror="window.__pwned=1">

<svg onload="window.__pwned=1"><circle r="5"/></svg>

[click](javascript:window.__pwned=1)

![x](data:image/svg+xml;base64,{SVG})

<div><a href="javascript:window.__pwned=1">html link</a>
<iframe src="javascript:window.__pwned=1"></iframe></div>

[titled](https://example.com/ "x\\" onmouseover=\\"window.__pwned=1")

$\\href{{javascript:window.__pwned=1}}{{maths}}$

```js" onmouseover="window.__pwned=1
code
```
"""

# Every element and attribute a payload above needs, and none that rendered Markdown has.
DOM_PROBE = """(root) => {
  const all = [root, ...root.querySelectorAll("*")];
  const active = ["script", "img", "svg", "iframe", "object", "embed"];
  return {
    tags: all.map((e) => e.localName).filter((t) => active.includes(t)),
    handlers: all.flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith("on")),
    styles: all.filter((e) => e.hasAttribute("style")).length,
    urls: all.flatMap((e) => ["href", "src", "xlink:href"].map((n) => e.getAttribute(n)).filter(Boolean)),
  };
}"""


@pytest.fixture(scope="module")
def answer_worker(live_stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A worker for ANSWER_SLUGS, next to the live stack's, letting answers run to 400 tokens."""
    env = environment(DATABASE_URL=_database_url(), ARENA_MAX_NEW_TOKENS="400")
    with processes_running(env=env, logs=tmp_path_factory.mktemp("answer-worker")) as processes:
        processes.worker("answers", models=",".join(ANSWER_SLUGS), concurrency=2)
        yield


@pytest.fixture
def browser_page(browser_page, answer_worker):
    return browser_page


def _scripted(text: str, *, tokens_per_s: float | None = None) -> None:
    """Both arena models answer `text`: whichever is drawn for a side, the pane shows it."""
    from arena.services import model_register

    config: dict[str, object] = {"text": text}
    if tokens_per_s:
        config["tokens_per_s"] = tokens_per_s
    for slug in ANSWER_SLUGS:
        model_register(slug=slug, display_name=slug, adapter_kind="scripted", adapter_config=config)


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _battle(page, live_stack, prompt: str = "Describe the square.", *, wait: bool = True) -> None:
    from playwright.sync_api import expect

    page.goto(live_stack.base_url + "/")
    page.fill("#prompt", prompt)
    page.click("#send")
    if wait:
        expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)


def test_a_markdown_answer_renders_headings_lists_tables_code_and_math(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    errors = _errors(page)
    _scripted(MARKDOWN)
    _battle(page, live_stack)

    for side in ("a", "b"):
        answer = page.locator(f"#pane-{side} .answer")
        expect(answer.locator("h1")).to_have_text("Shapes")
        expect(answer.locator("strong")).to_have_text("orange")
        expect(answer.locator("ul > li")).to_have_text(["first", "second"])
        expect(answer.locator("table th")).to_have_text(["colour", "count"])
        expect(answer.locator("table td.md-align-right")).to_have_text("1")
        code = answer.locator("pre > code.language-python")
        expect(code).to_contain_text("return side ** 2")
        expect(code.locator("span.hljs-keyword").first).to_have_text("def")
        expect(code.locator("span.hljs-number")).to_have_text("2")
        maths = answer.locator("math")
        expect(maths).to_have_count(2)
        expect(maths.first.locator("msup")).to_have_count(1)
        expect(maths.first.locator("annotation")).to_have_text("x^2")
        expect(answer.locator(".md-math-display math[display=block] msubsup")).to_have_count(1)
        expect(answer.locator("p").first).to_have_text("The square is orange.")
        text = answer.inner_text()
        assert "#" not in text and "$" not in text and "|" not in text and "```" not in text, text
        assert answer.evaluate(DOM_PROBE)["styles"] == 0, "KaTeX renders MathML, without inline styles"
    assert errors == []


def test_xss_payloads_in_an_answer_stay_inert(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    errors = _errors(page)
    _scripted(XSS)
    _battle(page, live_stack)

    answer = page.locator("#pane-a .answer")
    expect(answer).to_contain_text("Here you go:")
    # The HTML is shown as the text it is, and the rejected links stay text.
    expect(answer).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(answer).to_contain_text("<script>window.__pwned=1</script>")
    expect(answer).to_contain_text("[click](javascript:window.__pwned=1)")
    expect(answer).to_contain_text("![x](data:image/svg+xml;base64,")
    for side in ("a", "b"):
        probe = page.locator(f"#pane-{side} .answer").evaluate(DOM_PROBE)
        assert probe["tags"] == [] and probe["handlers"] == [] and probe["styles"] == 0, probe
        assert probe["urls"] == ["https://example.com/"], probe
    titled = answer.get_by_role("link", name="titled")
    expect(titled).to_have_attribute("title", 'x" onmouseover="window.__pwned=1')
    expect(titled).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(titled).to_have_attribute("target", "_blank")
    titled.hover()
    answer.get_by_text("[click](javascript:window.__pwned=1)").click()
    expect(answer.locator("math")).to_have_count(1)  # \href without trust: shown, not linked
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert errors == []


def test_the_prompt_renders_as_markdown_and_a_payload_in_it_stays_inert(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    errors = _errors(page)
    _scripted("Fine.")
    prompt = (
        'Compare **both** <img src=x onerror="window.__pwned=1">\n\n'
        "- left\n- right\n\n[x](javascript:window.__pwned=1)"
    )
    _battle(page, live_stack, prompt)

    for side in ("a", "b"):
        shown = page.locator(f"#pane-{side} .turn-prompt")
        expect(shown.locator("strong")).to_have_text("both")
        expect(shown.locator("li")).to_have_text(["left", "right"])
        expect(shown).to_contain_text('<img src=x onerror="window.__pwned=1">')
        probe = shown.evaluate(DOM_PROBE)
        assert probe["tags"] == [] and probe["handlers"] == [] and probe["urls"] == [], probe
    assert page.evaluate("window.__pwned") is None
    assert errors == []


def test_an_answer_renders_progressively_while_it_streams(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    errors = _errors(page)
    tail = " ".join(f"word{i}" for i in range(30))
    # Unclosed code fences and display maths go by on the way: none of them may throw.
    text = "**Start** here:\n\n- alpha\n- beta\n\n```python\nx = [1,\n     2]\n```\n\n"
    _scripted(text + f"$$\n\\frac{{a}}{{b}}\n$$\n\n{tail}\n\n- last", tokens_per_s=8)
    _battle(page, live_stack, wait=False)

    # Seen mid-stream: rendered list items in the answer while its pane still says it is generating.
    page.wait_for_function(
        """() => {
          const pane = document.getElementById("pane-a");
          const answer = pane.querySelector(".answer");
          return pane.dataset.status === "streaming" && answer.getAttribute("aria-busy") === "true"
            && answer.querySelectorAll("li").length >= 2 && !!answer.querySelector("strong");
        }""",
        timeout=30_000,
    )
    assert "word29" not in page.locator("#pane-a .answer").inner_text()
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    answer = page.locator("#pane-a .answer")
    expect(answer.locator("li")).to_have_text(["alpha", "beta", "last"])
    expect(answer.locator("pre code.language-python")).to_have_count(1)
    expect(answer.locator(".md-math-display mfrac")).to_have_count(1)
    expect(answer).not_to_have_attribute("aria-busy", "true")
    expect(answer).to_have_attribute("aria-live", "polite")
    assert errors == []


def test_the_copy_button_copies_the_raw_markdown(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_stack.base_url)
    _scripted(MARKDOWN)
    _battle(page, live_stack)

    copy = page.locator("#pane-a").get_by_role("button", name="Copy answer")
    expect(copy).to_be_visible()
    # From the keyboard: the pane's scroll area, then the button, with a visible focus ring.
    page.focus("#pane-a .pane-body")
    page.keyboard.press("Tab")
    expect(copy).to_be_focused()
    assert copy.evaluate("(b) => b.matches(':focus-visible') && getComputedStyle(b).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    status = page.locator("#pane-a .copy-status")
    expect(status).to_have_text("Copied")
    expect(status).to_have_attribute("role", "status")
    assert page.evaluate("navigator.clipboard.readText()") == MARKDOWN
    expect(status).to_have_text("", timeout=5_000)


def test_without_markdown_js_answers_still_show_as_plain_text(browser_page, live_stack):
    from playwright.sync_api import expect

    page = browser_page
    errors = _errors(page)
    page.route("**/arena/markdown.js", lambda route: route.abort())
    _scripted(MARKDOWN)
    _battle(page, live_stack, "A **bold** question")

    answer = page.locator("#pane-a .answer")
    expect(answer).to_contain_text("The square is **orange**.")
    expect(answer.locator("*")).to_have_count(0)
    expect(page.locator("#pane-a .turn-prompt")).to_have_text("A **bold** question")
    assert errors == []
