package display_test

import (
	"fmt"

	"atonce/internal/enginemsg"
	"atonce/interp/display"
)

func ExampleHTML() {
	old := display.SetPublisher(func(ev enginemsg.Event) {
		fmt.Println(ev.Kind, ev.Data["text/html"], ev.Data["text/plain"])
	})
	defer func() { display.SetPublisher(old) }()

	h := display.HTML("<b>1%</b>")
	h.Update("<b>100%</b>")
	// Output:
	// display <b>1%</b> 1%
	// update_display <b>100%</b> 100%
}
