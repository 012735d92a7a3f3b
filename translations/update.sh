#!/bin/sh
# Refresh the interface catalogues: extract every _() string, merge it into the Simplified Chinese and English catalogues, compile the .mo files.
# Then translate the new (empty or fuzzy) entries in translations/zh_Hans_CN/LC_MESSAGES/messages.po and run this
# again so that the .mo files match; tests/test_i18n.py fails until both are done.
# Simplified Chinese lives in zh_Hans_CN, not zh_CN: Flask-Babel looks a locale up by Babel's full name, and Babel
# reads "zh_CN" (the `lang` cookie value) as zh_Hans_CN, so a zh_CN folder would never be found.
# The keywords and mapping below are the ones tests/test_i18n.py extracts with: change them together.
set -eu
cd "$(dirname "$0")/.."

pybabel extract --mapping-file=babel.cfg --keyword=lazy_gettext --keyword=_l \
    --add-location=file --sort-output --add-comments=Translators: \
    --project="Cloud Expo" --copyright-holder="Cloud Expo contributors" \
    --output-file=translations/messages.pot .
for locale in zh_Hans_CN en; do
    pybabel update --input-file=translations/messages.pot --output-dir=translations --locale="$locale" \
        --init-missing --ignore-obsolete --ignore-pot-creation-date
done
# --use-fuzzy stays off: a fuzzy guess is shown as the English original until someone checks it.
pybabel compile --directory=translations --statistics
