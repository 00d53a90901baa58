#!/usr/bin/env python3
"""Writes each template of a collection file (hf_jinja_templates.json:
{"templates": [{"name", "chat_template", "bos_token"?, "eos_token"?}]}) as a
model directory OUT/NAME/tokenizer_config.json, the form prlm and the
renderers read, and prints NAME=PATH for each (the renderers' arguments).

usage: split_template_collection.py COLLECTION.json OUT_DIR
"""
import json
import os
import sys


def main():
    collection, out = sys.argv[1], sys.argv[2]
    for entry in json.load(open(collection, encoding="utf-8"))["templates"]:
        directory = os.path.join(out, entry["name"])
        os.makedirs(directory, exist_ok=True)
        config = {k: v for k, v in entry.items() if k != "name"}
        path = os.path.join(directory, "tokenizer_config.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False)
        print(f"{os.path.basename(out)}/{entry['name']}={path}")


if __name__ == "__main__":
    main()
