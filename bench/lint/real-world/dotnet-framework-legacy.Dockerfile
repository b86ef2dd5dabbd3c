FROM mcr.microsoft.com/dotnet/sdk:6.0-focal AS build-env
WORKDIR /App

# Copy everything
COPY . ./
# Restore as distinct layers
RUN dotnet restore
# Run the unit tests; the build fails on a red test
RUN dotnet test --no-restore --verbosity minimal
# Build and publish a release
RUN dotnet publish -c Release -o out --no-restore

# Build runtime image
FROM mcr.microsoft.com/dotnet/aspnet:6.0-focal
# System.Drawing needs libgdiplus on Linux for the PDF reports
RUN apt-get update && apt-get install -y libgdiplus libc6-dev && ln -s /usr/lib/libgdiplus.so /usr/lib/gdiplus.dll
WORKDIR /App
COPY --from=build-env /App/out .
COPY fonts/ /usr/share/fonts/truetype/corporate/
RUN fc-cache -f
ENV ASPNETCORE_URLS=http://+:5000 \
    ASPNETCORE_ENVIRONMENT=Production
EXPOSE 5000
ENTRYPOINT ["dotnet", "Reports.Web.dll"]
