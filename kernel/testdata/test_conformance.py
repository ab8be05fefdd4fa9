"""jupyter_kernel_test's conformance suite, run against the atonce kernel.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import unittest

import jupyter_kernel_test as jkt


class AtonceConformance(jkt.KernelTests):
    kernel_name = "atonce"
    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'import "fmt"\nfmt.Println("hello, world")'
    code_stderr = 'import (\n\t"fmt"\n\t"os"\n)\nfmt.Fprintln(os.Stderr, "to stderr")'

    completion_samples = [
        {"text": 'import "fmt"\nfmt.Spr', "matches": {"Sprint", "Sprintf", "Sprintln"}},
        {"text": "strings.ToU", "matches": {"ToUpper", "ToUpperSpecial"}},
    ]
    complete_code_samples = [
        "x := 1",
        'fmt.Println("hi")',
        "func f() int { return 1 }",
        "",
        'import "fmt"\nvar y = 2\nfmt.Println(y)',
    ]
    incomplete_code_samples = [
        "func f() {",
        "x := []int{1,",
        "for i := 0; i < 3; i++ {\n\tfmt.Println(i)",
        "s := `raw",
    ]
    invalid_code_samples = ["}", "x := )", "func func"]

    code_generate_error = 'panic("boom")'
    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": '"go" + "pher"', "result": '"gopher"'},
        {"code": "z := 2\nz * 21", "result": "42"},
    ]
    code_display_data = [
        {"code": 'import "atonce/display"\ndisplay.HTML("<b>hi</b>")', "mime": "text/html"},
        {"code": 'import "atonce/display"\ndisplay.Markdown("*hi*")', "mime": "text/markdown"},
    ]
    code_clear_output = 'import "atonce/display"\ndisplay.Clear(false)'

    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "fmt.Println"

    code_page_something = "fmt.Println?"


if __name__ == "__main__":
    unittest.main()
