from smtrail_sql.cli import main

main()
