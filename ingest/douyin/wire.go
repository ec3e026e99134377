package douyin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest"
)

// flag is a boolean the platform may send as true/false, 0/1 or a string.
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	switch strings.Trim(strings.TrimSpace(string(b)), `"`) {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("want a boolean, got %.20s", b)
	}
	return nil
}

// extra is the envelope's request metadata.
type extra struct {
	ErrorCode      ingest.Int `json:"error_code"`
	Description    string     `json:"description"`
	SubErrorCode   ingest.Int `json:"sub_error_code"`
	SubDescription string     `json:"sub_description"`
	LogID          string     `json:"logid"`
	Now            ingest.Int `json:"now"`
}

// status is the error part every "data" object carries.
type status struct {
	ErrorCode   ingest.Int `json:"error_code"`
	Description string     `json:"description"`
	LogID       string     `json:"log_id"`
}

// envelope is the outer shape of every Open Platform answer:
// {"data": {..., "error_code": 0, "description": ""}, "extra": {..., "logid": ...}}.
// Newer endpoints answer errors as {"err_no": 28001008, "err_msg": ..., "log_id": ...}.
type envelope struct {
	Data    json.RawMessage `json:"data"`
	Extra   *extra          `json:"extra"`
	Message string          `json:"message"`
	ErrNo   ingest.Int      `json:"err_no"`
	ErrMsg  string          `json:"err_msg"`
	LogID   string          `json:"log_id"`
}

type statistics struct {
	PlayCount     ingest.Int `json:"play_count"`
	DiggCount     ingest.Int `json:"digg_count"`
	CommentCount  ingest.Int `json:"comment_count"`
	ShareCount    ingest.Int `json:"share_count"`
	ForwardCount  ingest.Int `json:"forward_count"`
	DownloadCount ingest.Int `json:"download_count"`
}

type video struct {
	ItemID     string     `json:"item_id"`
	Title      string     `json:"title"`
	ShareURL   string     `json:"share_url"`
	CreateTime ingest.Int `json:"create_time"`
	IsTop      flag       `json:"is_top"`
	// is_reviewed and video_status are gone: the platform stopped returning
	// them on 2024-12-13 (抖音开放平台公告 2024-11-15, 移动/网站应用部分数据权限字段调整).
	Statistics *statistics `json:"statistics"`
}

type videoList struct {
	status
	List    []video    `json:"list"`
	Cursor  ingest.Int `json:"cursor"`
	HasMore flag       `json:"has_more"`
}

type videoData struct {
	status
	List []video `json:"list"`
}

type tokenData struct {
	status
	AccessToken      string     `json:"access_token"`
	ExpiresIn        ingest.Int `json:"expires_in"`
	RefreshToken     string     `json:"refresh_token"`
	RefreshExpiresIn ingest.Int `json:"refresh_expires_in"`
	OpenID           string     `json:"open_id"`
	Scope            string     `json:"scope"`
}

// response is one HTTP answer, read in full.
type response struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
	arrived   time.Time
}
