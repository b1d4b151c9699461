module lgcore.test/target-go

go 1.19
