from smtrail_sql.entry import main

main()
