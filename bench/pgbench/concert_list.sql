-- api.concert_list: GET /api/concerts
select api.concert_list();
