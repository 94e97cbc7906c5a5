"""A real GUI window for the end-to-end test: one big "Submit" button that appends a line
to a log file per click. Run by the system Python (python3-tk), not the venv:

    DISPLAY=:N /usr/bin/python3 tests/e2e/submit_app.py /tmp/clicks.log
"""

import sys
import tkinter as tk

log_path = sys.argv[1]


def log(line: str) -> None:
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def on_submit() -> None:
    log("clicked Submit")


root = tk.Tk()
root.title("Bytebot e2e")
root.geometry("640x400+200+200")
root.configure(background="white")
button = tk.Button(
    root, text="Submit", font=("DejaVu Sans", 36), command=on_submit,
    background="white", foreground="black", activebackground="#dddddd", padx=30, pady=15,
)
button.place(relx=0.5, rely=0.5, anchor="center")
root.after(300, lambda: log("ready"))
root.mainloop()
