"""The recap and case exports: spreadsheets (XLSX), CSV tables and the recap chart (PNG).

Import the module you need (`bot.exports.workbook`, `.tables`, `.chart`) rather than
this package: nothing is re-exported here, so writing a spreadsheet does not load
matplotlib, which takes a noticeable while to import.
"""
