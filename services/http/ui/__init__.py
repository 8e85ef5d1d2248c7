"""The web app for people, under ``/ui``: server-rendered pages over the same application
and views as the JSON API.

- ``routes``: the router: sign-in and out, the pages, the forms, the static files
- ``session``: who is signed in (a cookie), and the CSRF tokens of the forms
- ``pages``: what each page shows, read for one signed-in person
- ``actions``: what each form does (one application command each)
- ``forms``: form fields read into the API's request bodies
- ``charts``: the slip ledger's chart, as geometry for inline SVG
- ``render``: templates (autoescaped), security headers, static files
"""
