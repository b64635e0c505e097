"""Output for the terminal and files.

kit.py       - JSON, CSV and Markdown emitters and the Rich tables of every command.
textchart.py - plain-text charts for `report --chart`.
"""
