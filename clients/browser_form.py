"""A real HTML form (clients/apply.html) submitted by headless Chromium to the API.

Serves the page on a free local port (python http.server) with its form's action set to
POST {PASSERELLE_URL}/api/v1/offers/{OFFER_SLUG}/applications, lets Selenium fill the fields,
attach a PDF to `cv`, leave the `cover_letter` file input empty and write `cover_letter_text`,
submit, and reads the JSON the API answers in the page the browser lands on (the status from
Chromium's network log). Prints `application_id=...` last, for clients/staff_check.py.

Environment: PASSERELLE_URL, OFFER_SLUG; CHROMIUM and CHROMEDRIVER (default: from PATH).
"""

import datetime
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from sample_pdf import sample_pdf

here = Path(__file__).resolve().parent
action = f"{os.environ['PASSERELLE_URL']}/api/v1/offers/{os.environ['OFFER_SLUG']}/applications"
page = (here / "apply.html").read_text(encoding="utf-8").replace("__ACTION__", action).encode()


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
threading.Thread(target=server.serve_forever, daemon=True).start()
page_url = f"http://127.0.0.1:{server.server_address[1]}/apply.html"

work = Path(tempfile.mkdtemp(prefix="passerelle-browser-"))
cv = sample_pdf("CV sent by a browser form")
(work / "cv.pdf").write_bytes(cv)

options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM") or shutil.which("chromium")
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            f"--user-data-dir={work / 'profile'}"):
    options.add_argument(arg)
# The network log gives the status of the form's POST (a page cannot see it).
options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
service = Service(executable_path=os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver"))
driver = webdriver.Chrome(options=options, service=service)
try:
    driver.set_page_load_timeout(30)
    driver.get(page_url)
    print(f"ok page served at {page_url}, form action {action}")

    today = datetime.date.today()
    fill = {
        "first_name": "Léa", "last_name": "Martin",
        "email": f"lea.martin.{uuid.uuid4().hex[:8]}@ci.passerelle.example",
        "school": "IUT de Grenoble", "field_of_study": "information-communication",
        "available_from": str(today + datetime.timedelta(days=30)),
        "available_until": str(today + datetime.timedelta(days=200)),
        "cover_letter_text": "Bonjour,\nje candidate par le formulaire du site.",
    }
    for name, value in fill.items():
        driver.find_element(By.ID, name).send_keys(value)
    Select(driver.find_element(By.ID, "education_level")).select_by_value("licence_3")
    driver.find_element(By.ID, "consent_privacy").click()
    driver.find_element(By.ID, "cv").send_keys(str(work / "cv.pdf"))
    assert driver.find_element(By.ID, "cover_letter").get_attribute("value") == ""
    print("ok filled the form (cv attached, cover_letter file left empty)")

    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 30).until(EC.url_to_be(action))
    pre = WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.TAG_NAME, "pre")))
    text = pre.text

    status = None
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            if response["url"] == action:
                status = response["status"]
    try:
        answer = json.loads(text)
    except ValueError:
        sys.exit(f"FAIL the API's answer is not JSON (status {status}): {text[:500]}")
    if status != 201 or not answer.get("application", {}).get("id"):
        sys.exit(f"FAIL submit the form: status {status}: {text[:1000]}")
    print(f"ok submitted: {status}, application {answer['application']['id']}")
    print(f"application_id={answer['application']['id']}")
finally:
    driver.quit()
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)
