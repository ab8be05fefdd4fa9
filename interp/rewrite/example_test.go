package rewrite_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"

	"atonce/interp/rewrite"
)

func ExampleCell() {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cell.go", "package main; func main() { for i := range 2 { fmt.Println(rand.IntN(1) + i) } }", 0)
	if err != nil {
		panic(err)
	}
	body := f.Decls[0].(*ast.FuncDecl).Body
	res, err := rewrite.Cell(fset, nil, body.List, nil)
	if err != nil {
		panic(err)
	}
	body.List = res.Stmts
	printer.Fprint(os.Stdout, fset, body)
	fmt.Println()
	fmt.Println(res.Imports)
	fmt.Println(res.Notes)
	// Output:
	// {
	// 	for _atonce_k1 := 0; _atonce_k1 < 2; _atonce_k1++ {
	// 		i := _atonce_k1
	// 		{
	// 			fmt.Println(rand.IntN(1) + i)
	// 		}
	// 	}
	// }
	// [fmt math/rand/v2]
	// [atonce: imported "math/rand/v2" for rand.IntN (also named rand: crypto/rand, math/rand)]
}
