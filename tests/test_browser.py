"""The drawing page in Debian's Chromium against the live server, the real model and the real database."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from recognizer.models import ModelVersion, Prediction

# Playwright's sync API runs an event loop in the test thread, and Django refuses ORM calls while one runs.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 3}

# Strokes as (x, y) fractions of the canvas side.
ONE = [(0.52, 0.14), (0.5, 0.5), (0.48, 0.86)]
SEVEN_UPWARDS = [(0.42, 0.86), (0.72, 0.2), (0.26, 0.2)]
ZERO = [(0.5, 0.16), (0.3, 0.3), (0.28, 0.6), (0.45, 0.84), (0.68, 0.72), (0.72, 0.4), (0.6, 0.18), (0.5, 0.16)]

INK_PIXELS = """() => new Promise((resolve) => requestAnimationFrame(() => {
  const canvas = document.querySelector('[data-testid="digit-canvas"]');
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 3; i < pixels.length; i += 4) ink += pixels[i] > 0;
  resolve(ink);
}))"""
HAS_HORIZONTAL_SCROLL = "() => document.documentElement.scrollWidth > window.innerWidth"


@dataclass
class Visit:
    """A page plus everything it did that a test may want to refuse."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests
                if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname not in LOCAL_HOSTS]

    def api_requests(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).path.startswith("/api/")]

    def assert_clean(self):
        assert self.errors == []
        assert self.foreign_requests() == []


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def visit(browser, live_server):
    contexts = []

    def open_page(**context_options) -> Visit:
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        seen = Visit(page)
        page.on("console", lambda message: message.type == "error" and seen.errors.append(message.text))
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.on("request", lambda request: seen.requests.append(request.url))
        page.goto(live_server.url)
        return seen

    yield open_page
    for context in contexts:
        context.close()


def canvas_points(page: Page, stroke):
    box = page.get_by_test_id("digit-canvas").bounding_box()
    return [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]


def draw_with_mouse(page: Page, stroke):
    (x, y), *rest = canvas_points(page, stroke)
    page.mouse.move(x, y)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def draw_with_finger(page: Page, stroke, steps=8):
    """Real touch input through the DevTools protocol, so the page sees pointer events of type touch."""
    cdp = page.context.new_cdp_session(page)
    points = canvas_points(page, stroke)
    (x, y), *_ = points
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for step in range(1, steps + 1):
            t = step / steps
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchMove", "touchPoints": [{"x": x0 + (x1 - x0) * t, "y": y0 + (y1 - y0) * t}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def shown_top3(page: Page) -> list[tuple[int, float]]:
    items = page.get_by_test_id("top3").locator("li")
    expect(items).to_have_count(3)
    return [(int(item.get_attribute("data-digit")), float(item.get_attribute("data-probability")))
            for item in items.all()]


def assert_stored(top3, source="canvas") -> Prediction:
    """Exactly one row, agreeing with what the page shows, with its drawing on disk."""
    (prediction,) = Prediction.objects.all()
    assert prediction.source == source
    assert prediction.digit == top3[0][0]
    assert [(entry["digit"], pytest.approx(entry["probability"])) for entry in prediction.top3] == top3
    assert Path(prediction.image.path).is_file()
    with Image.open(prediction.image.path) as drawing:
        assert (drawing.format, drawing.size) == ("PNG", (140, 140))
    return prediction


def assert_fractions_best_first(top3):
    probabilities = [probability for _, probability in top3]
    assert all(0 < probability <= 1 for probability in probabilities)
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) <= 1 + 1e-6
    assert len({digit for digit, _ in top3}) == 3


def save_screenshot(page: Page, name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name)


def test_a_drawn_one_is_recognised_and_stored(visit, isolated_media):
    seen = visit(**DESKTOP)
    page = seen.page

    draw_with_mouse(page, ONE)
    top3 = shown_top3(page)

    assert_fractions_best_first(top3)
    assert top3[0][0] == 1
    prediction = assert_stored(top3)
    assert Path(prediction.image.path).is_relative_to(isolated_media)
    expect(page.get_by_test_id("status")).to_contain_text("It looks like a 1")
    assert len(seen.api_requests()) == 1
    save_screenshot(page, "desktop.png")
    seen.assert_clean()


def test_drawing_with_a_finger_on_a_phone(visit):
    seen = visit(**PHONE)
    page = seen.page
    backing_pixels_per_css_pixel = page.get_by_test_id("digit-canvas").evaluate(
        "canvas => canvas.width / canvas.getBoundingClientRect().width")
    assert backing_pixels_per_css_pixel == pytest.approx(3, abs=0.01)
    page.get_by_test_id("digit-canvas").evaluate(
        "canvas => canvas.addEventListener('pointerdown', (event) => { window.pointerTypes.push(event.pointerType); })",
    )
    page.evaluate("window.pointerTypes = []")

    draw_with_finger(page, SEVEN_UPWARDS)
    top3 = shown_top3(page)

    assert page.evaluate("window.pointerTypes") == ["touch"]

    assert_fractions_best_first(top3)
    assert_stored(top3)
    assert page.evaluate("window.scrollY") == 0, "the finger's drag scrolled the page"
    assert not page.evaluate(HAS_HORIZONTAL_SCROLL)
    save_screenshot(page, "mobile.png")
    page.set_viewport_size({"width": 360, "height": 640})
    assert not page.evaluate(HAS_HORIZONTAL_SCROLL)
    seen.assert_clean()


def test_clear_and_escape_empty_the_canvas_and_results(visit):
    seen = visit(**DESKTOP)
    page = seen.page
    status = page.get_by_test_id("status")

    page.get_by_test_id("predict-button").click()
    expect(status).to_contain_text("empty")
    assert seen.api_requests() == []

    draw_with_mouse(page, ZERO)
    shown_top3(page)
    assert page.evaluate(INK_PIXELS) > 0
    page.get_by_test_id("clear-button").click()
    assert page.evaluate(INK_PIXELS) == 0
    expect(page.get_by_test_id("top3").locator("li")).to_have_count(0)
    expect(page.get_by_test_id("feedback")).to_be_hidden()

    draw_with_mouse(page, ONE)
    page.keyboard.press("Escape")
    assert page.evaluate(INK_PIXELS) == 0
    page.wait_for_timeout(500)
    assert len(seen.api_requests()) == 1, "a cleared drawing was still sent"
    seen.assert_clean()


def test_undo_removes_the_last_stroke(visit):
    seen = visit(**DESKTOP)
    page = seen.page

    draw_with_mouse(page, ONE)
    one_stroke = page.evaluate(INK_PIXELS)
    draw_with_mouse(page, [(0.2, 0.5), (0.8, 0.5)])
    two_strokes = page.evaluate(INK_PIXELS)
    assert two_strokes > one_stroke > 0

    page.get_by_test_id("undo-button").click()
    assert page.evaluate(INK_PIXELS) == one_stroke
    page.keyboard.press("Control+z")
    assert page.evaluate(INK_PIXELS) == 0
    expect(page.get_by_test_id("undo-button")).to_be_disabled()
    seen.assert_clean()


def test_enter_predicts_and_feedback_stores_the_reported_label(visit):
    seen = visit(**DESKTOP)
    page = seen.page

    draw_with_mouse(page, ZERO)
    page.keyboard.press("Enter")
    top3 = shown_top3(page)
    prediction = assert_stored(top3)

    page.get_by_role("button", name="It was a 6").click()
    expect(page.get_by_test_id("feedback-message")).to_contain_text("Thank you")
    expect(page.get_by_role("button", name="It was a 6")).to_have_attribute("aria-pressed", "true")
    prediction.refresh_from_db()
    assert prediction.reported_label == 6
    assert prediction.true_label is None
    assert len(seen.api_requests()) == 2
    seen.assert_clean()


def test_a_server_error_is_shown_to_the_drawer(visit):
    ModelVersion.objects.filter(is_active=True).update(path="/nonexistent/lost.pt")
    seen = visit(**DESKTOP)
    page = seen.page

    draw_with_mouse(page, ONE)

    expect(page.get_by_test_id("status")).to_contain_text("The model is unavailable")
    expect(page.get_by_test_id("top3").locator("li")).to_have_count(0)
    assert not Prediction.objects.exists()
    assert seen.errors == ["Failed to load resource: the server responded with a status of 503 (Service Unavailable)"]
    assert seen.foreign_requests() == []
