"""Swagger UI in headless Chromium: the apply operation offers a file picker for `cv` and for
`cover_letter` (issue 13 item 2: a nullable type list made Swagger UI show a text box, so no
PDF could be sent from /docs/).

Opens {PASSERELLE_URL}/docs/, expands POST /api/v1/offers/{id_or_slug}/applications, presses
"Try it out", and checks the form has an <input type=file> for each file part.

Environment: PASSERELLE_URL; CHROMIUM and CHROMEDRIVER (default: from PATH).
"""

import os
import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

base = os.environ["PASSERELLE_URL"]
work = Path(tempfile.mkdtemp(prefix="passerelle-swagger-"))
options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM") or shutil.which("chromium")
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            f"--user-data-dir={work / 'profile'}"):
    options.add_argument(arg)
service = Service(executable_path=os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver"))
driver = webdriver.Chrome(options=options, service=service)
try:
    driver.set_page_load_timeout(30)
    driver.get(f"{base}/docs/")
    wait = WebDriverWait(driver, 30)
    # Swagger UI's ids: operations-<tag>-<operationId>.
    block = wait.until(EC.presence_of_element_located((By.ID, "operations-applications-apply")))
    driver.execute_script("arguments[0].scrollIntoView();", block)
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    try_it = wait.until(lambda d: block.find_element(By.CSS_SELECTOR, "button.try-out__btn"))
    try_it.click()
    wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, "input[type=file]"))
    rows = block.find_elements(By.CSS_SELECTOR, "tr[data-property-name]")
    pickers = {
        row.get_attribute("data-property-name")
        for row in rows
        if row.find_elements(By.CSS_SELECTOR, "input[type=file]")
    }
    assert {"cv", "cover_letter"} <= pickers, f"file pickers: {sorted(pickers)}"
    print(f"ok Swagger UI offers a file picker for {', '.join(sorted(pickers))}")
finally:
    driver.quit()
    shutil.rmtree(work, ignore_errors=True)
