; Inno Setup 6 recipe for smsdesk. Built by packaging/windows/build.ps1, which passes
;   /DAppVersion=<version> /DSourceDir=<repo>\dist\smsdesk /DOutputDir=<repo>\dist
; Needs Inno Setup 6.3 or newer (x64compatible).

#ifndef AppVersion
  #error Pass /DAppVersion=... (build.ps1 does)
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\smsdesk"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef LicenceFile
  #define LicenceFile "..\..\LICENSE"
#endif

[Setup]
; The AppId identifies smsdesk to Windows across versions: an upgrade replaces the installed
; copy in place instead of installing a second one. NEVER change it.
AppId={{563A111D-C4CF-41D7-8CF6-31E2F13D5E22}
AppName=smsdesk
AppVersion={#AppVersion}
AppVerName=smsdesk {#AppVersion}
AppPublisher=The smsdesk developers
AppPublisherURL=https://github.com/smsdesk/smsdesk
AppSupportURL=https://github.com/smsdesk/smsdesk/issues
VersionInfoVersion={#AppVersion}
VersionInfoProductName=smsdesk
DefaultDirName={autopf}\smsdesk
DefaultGroupName=smsdesk
DisableProgramGroupPage=yes
; Installs for all users by default; a user without admin rights can pick "only for me".
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
UninstallDisplayIcon={app}\smsdesk-gui.exe
UninstallDisplayName=smsdesk
; Close a running smsdesk before replacing its files, and reopen it afterwards.
CloseApplications=yes
RestartApplications=yes
OutputDir={#OutputDir}
OutputBaseFilename=smsdesk-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
SetupLogging=yes
; The licence page: smsdesk's MIT licence (THIRD_PARTY_NOTICES.txt is installed beside it and
; shown in the About dialog).
LicenseFile={#LicenceFile}
#ifdef SetupIcon
SetupIconFile={#SetupIcon}
#endif
; The "on PATH" option changes the environment: tell running programs (Explorer, new consoles).
ChangesEnvironment=yes
#ifdef Sign
; build.ps1 passes /Ssmsdesksign=... (signtool with the cloud signer): Inno Setup signs the
; uninstaller it embeds and the setup itself with it.
SignTool=smsdesksign
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
; The command line (smsdesk.exe: smsdesk --help, smsdesk dispatch) from any console. For all
; users in the system PATH, for "only me" in the user's; removed again by the uninstaller.
Name: "addtopath"; Description: "Add smsdesk to PATH, for the command line (smsdesk --help)"; Flags: unchecked

[InstallDelete]
; An upgrade must not keep modules an older version shipped and the new one dropped.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
; The windowed executable: no console window behind the app.
Name: "{autoprograms}\smsdesk"; Filename: "{app}\smsdesk-gui.exe"; WorkingDir: "{app}"; AppUserModelID: "io.github.smsdesk.SmsDesk"; Comment: "Schedule text messages from your desk"
Name: "{autodesktop}\smsdesk"; Filename: "{app}\smsdesk-gui.exe"; WorkingDir: "{app}"; AppUserModelID: "io.github.smsdesk.SmsDesk"; Tasks: desktopicon

[Run]
Filename: "{app}\smsdesk-gui.exe"; Description: "{cm:LaunchProgram,smsdesk}"; Flags: nowait postinstall skipifsilent

; The uninstaller removes what setup installed. The messages database and settings in
; %LOCALAPPDATA%\smsdesk and the API keys in Windows Credential Manager are the clinic's
; data and stay (a reinstall finds them again).

[Code]
const
  SystemEnvironment = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';
  UserEnvironment = 'Environment';

function EnvRoot: Integer;
begin
  if IsAdminInstallMode then Result := HKEY_LOCAL_MACHINE else Result := HKEY_CURRENT_USER;
end;

function EnvKey: String;
begin
  if IsAdminInstallMode then Result := SystemEnvironment else Result := UserEnvironment;
end;

procedure AddToPath(Dir: String);
var
  Paths: String;
begin
  if not RegQueryStringValue(EnvRoot, EnvKey, 'Path', Paths) then Paths := '';
  if Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') > 0 then exit;
  if (Paths <> '') and (Copy(Paths, Length(Paths), 1) <> ';') then Paths := Paths + ';';
  RegWriteExpandStringValue(EnvRoot, EnvKey, 'Path', Paths + Dir);
end;

procedure RemoveFromPath(Dir: String);
var
  Paths: String;
  At: Integer;
begin
  if not RegQueryStringValue(EnvRoot, EnvKey, 'Path', Paths) then exit;
  Paths := ';' + Paths + ';';
  At := Pos(';' + Uppercase(Dir) + ';', Uppercase(Paths));
  if At = 0 then exit;
  Delete(Paths, At, Length(Dir) + 1);
  RegWriteExpandStringValue(EnvRoot, EnvKey, 'Path', Copy(Paths, 2, Length(Paths) - 2));
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if (CurStep = ssPostInstall) and WizardIsTaskSelected('addtopath') then
    AddToPath(ExpandConstant('{app}'));
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
