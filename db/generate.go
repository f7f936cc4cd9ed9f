package db

//go:generate go -C ../tools tool sqlc -f ../sqlc.yaml generate
